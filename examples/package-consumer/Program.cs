using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;

// A broker, an echo worker and a client in one process, all on loopback: one request, one reply.
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
await using var broker = new MajordomoBroker(new BrokerOptions { Endpoints = ["tcp://127.0.0.1:0"] });
string endpoint = broker.Bind()[0];
var brokerRun = broker.RunAsync(stop.Token);

await using var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = endpoint, Service = "echo" });
var workerRun = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stop.Token);

await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint });
var reply = await client.RequestAsync("echo", Message.FromStrings("hello from the packages"), stop.Token);
Console.WriteLine($"package-consumer: {reply.Body.GetString(0)}");

await stop.CancelAsync();
await Task.WhenAll(brokerRun, workerRun).ContinueWith(_ => { }, TaskScheduler.Default);
