using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary><c>mdbroker --titanic STORE</c>: the broker and the Titanic service in one process, as ticlient sees them.</summary>
public sealed partial class BrokerServiceTests
{
    [Fact]
    public async Task RunAsync_Titanic_RequestSubmittedWithNoWorkerSurvivesARestartAndIsAnsweredOnce()
    {
        string directory = Directory.CreateTempSubdirectory("mdbroker-titanic-").FullName;
        try
        {
            string endpoint = $"tcp://127.0.0.1:{FreePort()}";
            string[] args = ["--bind", endpoint, "--titanic", "sqlite:" + Path.Combine(directory, "titanic.db"), "--log-level", "Warning"];
            var clientOptions = new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, Timeout = TimeSpan.FromSeconds(10) };
            var pollFast = new TitanicClientOptions { PollInterval = TimeSpan.FromMilliseconds(20), PollIntervalMax = TimeSpan.FromMilliseconds(200) };

            // First run: the request is acknowledged with no echo worker anywhere, then the whole process stops.
            string id;
            using (var stop = new CancellationTokenSource())
            {
                var run = BrokerService.RunAsync(args, [], new StringWriter(), new StringWriter(), stop.Token);
                await using (var mdp = new MajordomoAsyncClient(clientOptions))
                {
                    var titanic = new TitanicClient(mdp, pollFast);
                    id = await titanic.SubmitAsync("echo", Message.FromStrings("durable"));
                    (await titanic.TryGetReplyAsync(id)).Should().BeNull("no echo worker has run yet");
                }

                await stop.CancelAsync();
                (await run.WaitAsync(Wait)).Should().Be(BrokerService.ExitOk);
            }

            // Second run on the same file: a worker comes, the stored request reaches it, the reply waits for the client.
            using (var stop = new CancellationTokenSource())
            {
                var error = new StringWriter();
                var run = BrokerService.RunAsync(args, [], new StringWriter(), error, stop.Token);
                int served = 0;
                var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = endpoint, Service = "echo" });
                var workerRun = worker.RunAsync(
                    (request, _) =>
                    {
                        Interlocked.Increment(ref served);
                        return ValueTask.FromResult(request.Body);
                    },
                    stop.Token);
                await using (var mdp = new MajordomoAsyncClient(clientOptions))
                {
                    var titanic = new TitanicClient(mdp, pollFast);
                    using var deadline = new CancellationTokenSource(Wait);
                    var reply = await titanic.WaitForReplyAsync(id, deadline.Token);
                    reply.GetString(0).Should().Be("durable");
                    (await titanic.TryGetReplyAsync(id)).Should().NotBeNull("a stored reply stays until it is closed");

                    await titanic.CloseAsync(id);

                    var unknown = await FluentActions.Awaiting(() => titanic.TryGetReplyAsync(id)).Should().ThrowAsync<TitanicException>();
                    unknown.Which.Status.Should().Be(Tsp.Unknown);
                }

                Volatile.Read(ref served).Should().Be(1, "the request ran once to completion");
                await stop.CancelAsync();
                (await run.WaitAsync(Wait)).Should().Be(BrokerService.ExitOk, error.ToString());
                await workerRun.WaitAsync(Wait);
                await worker.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task RunAsync_TitanicStoreProblems_ReportedWithTheSameWordsAsTheTitanicProgram()
    {
        var (code, _, error) = await RunInProcessAsync(["--titanic", "mongo:x", "--ha-role", "primary"]);

        code.Should().Be(BrokerService.ExitUsage);
        error.Should().Contain("Titanic: 'mongo:x' is not sqlite:PATH or postgres:CONNSTR");

        (code, _, error) = await RunInProcessAsync(["--titanic", "sqlite:t.db", "--ha-role", "primary", "--ha-local", "tcp://127.0.0.1:1", "--ha-remote", "tcp://127.0.0.1:2"]);

        code.Should().Be(BrokerService.ExitUsage);
        error.Should().Contain("Titanic cannot be combined with HaRole");
    }

    [Fact]
    public async Task RunAsync_TitanicStoreCannotBeOpened_ExitFourBeforeListening()
    {
        string junk = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(junk, new string('x', 4096));
            string endpoint = $"tcp://127.0.0.1:{FreePort()}";

            var (code, _, error) = await RunInProcessAsync(["--bind", endpoint, "--titanic", "sqlite:" + junk, "--log-level", "None"]);

            code.Should().Be(BrokerService.ExitCannotOpenTitanicStore);
            error.Should().Contain($"mdbroker: cannot open store 'sqlite:{junk}'");
        }
        finally
        {
            File.Delete(junk);
        }
    }
}
