using System.Globalization;
using System.Text.RegularExpressions;
using Reliability.Chaos.Network;
using Reliability.Chaos.Processes;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;
using Xunit.Abstractions;

namespace Reliability.Chaos.Tests;

/// <summary>Runs only where network namespaces can be made (root); elsewhere skipped with the reason, except under CI, where it must run.</summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (NetworkNamespaces.UnavailableReason is { } reason && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Skip = reason + "; CI=true makes this a failure instead";
        }
    }
}

/// <summary>
/// Binary Star split brain in real network namespaces: the primary runs in namespace <c>a</c>, the
/// backup in <c>b</c>, joined by their own veth pair (the HA link); each has a second veth pair to the
/// test's namespace, where the failover clients run. The states come from the nodes' own transition
/// lines (<c>Binary Star Backup: Passive -> Active (client-request)</c>), sampled every 100 ms.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed partial class SplitBrainTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Sample = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [NetworkNamespaceFact]
    public async Task HaLinkCut_ClientsReachOnlyThePrimary_NeverTwoActives_ThenThePrimaryCutOff_TheBackupServes_HealStopsTheSplitBrain()
    {
        var programs = await ChaosPrograms.PrepareAsync().WaitAsync(TimeSpan.FromMinutes(10));
        var net = new NetworkNamespaces();
        string octet = Random.Shared.Next(256).ToString(CultureInfo.InvariantCulture);
        string Address(int host) => $"10.213.{octet}.{host.ToString(CultureInfo.InvariantCulture)}";
        try
        {
            // HA link a↔b (.1/.2), clients↔a (.5/.6), clients↔b (.9/.10): three /30 links.
            string a = net.AddNamespace("a");
            string b = net.AddNamespace("b");
            net.AddLink("ha", a, Address(1) + "/30", "hb", b, Address(2) + "/30");
            net.AddLink("ca", null, Address(5) + "/30", "sa", a, Address(6) + "/30");
            net.AddLink("cb", null, Address(9) + "/30", "sb", b, Address(10) + "/30");
            string primaryFrontend = $"tcp://{Address(6)}:5001";
            string backupFrontend = $"tcp://{Address(10)}:5002";

            await using var supervisor = new ProcessSupervisor();
            ChildProcess Node(string role, string ns, string frontend, string local, string remote) => supervisor.Start(role, NetworkNamespaces.Exec(ns, programs.Command(ProgramRole.BstarServer, new Dictionary<string, string>
            {
                ["role"] = role,
                ["frontend"] = frontend,
                ["local"] = local,
                ["remote"] = remote,
                ["heartbeat_ms"] = ((int)Heartbeat.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            })));
            var primary = Node("primary", a, primaryFrontend, $"tcp://{Address(1)}:5003", $"tcp://{Address(2)}:5004");
            var backup = Node("backup", b, backupFrontend, $"tcp://{Address(2)}:5004", $"tcp://{Address(1)}:5003");
            await primary.WaitForOutputAsync(Transition("Active"), Wait);
            await backup.WaitForOutputAsync(Transition("Passive"), Wait);

            await using var load = new FailoverLoad(primaryFrontend, backupFrontend);
            await load.WaitForRepliesAsync(5, Wait);

            // Phase 1: only the HA link is cut, and the clients can reach the primary only. The backup's
            // peer expires after 2 heartbeats, but no client asks it, so it must stay passive.
            net.SetLink("hb", b, up: false);
            net.SetLink("sb", b, up: false);
            long before = load.Answered;
            var phase1 = await SampleAsync(primary, backup, Heartbeat * 20);
            phase1.Should().NotContain(s => s.Primary == "Active" && s.Backup == "Active", "two actives would be a split brain");
            phase1.Should().OnlyContain(s => s.Primary == "Active" && s.Backup == "Passive");
            load.Answered.Should().BeGreaterThan(before + 5, "the primary kept serving");

            // Phase 2: the primary is cut from the clients too, the backup reachable again: the clients fail
            // over, and their request is the vote that makes the backup (its peer long expired) active.
            long cut = TimeProvider.System.GetTimestamp();
            net.SetLink("sa", a, up: false);
            net.SetLink("sb", b, up: true);
            await backup.WaitForOutputAsync(Transition("Active", "client-request"), Wait);
            var takeover = TimeProvider.System.GetElapsedTime(cut);
            long atTakeover = load.Answered;
            await load.WaitForRepliesAsync(atTakeover + 5, Wait);
            output.WriteLine($"backup active {takeover.TotalMilliseconds:F0} ms after the primary was cut from the clients; {phase1.Count} samples in phase 1");
            takeover.Should().BeLessThan(TimeSpan.FromSeconds(10));
            var phase2 = await SampleAsync(primary, backup, Heartbeat * 4);
            phase2.Should().OnlyContain(s => s.Backup == "Active", "the backup serves the clients now");

            // Neither node may have exited yet: a split brain is detected only when the peers hear each other.
            var stats = await load.StopAsync();
            stats.Wrong.Should().Be(0);
            stats.Failed.Should().Be(0);
            primary.HasExited.Should().BeFalse(primary.OutputTail());
            backup.HasExited.Should().BeFalse(backup.OutputTail());

            // Heal: the two actives hear each other and the FSM's split-brain rule stops them (exit code 3).
            net.SetLink("hb", b, up: true);
            net.SetLink("sa", a, up: true);
            var first = await Task.WhenAny(primary.Exited, backup.Exited).WaitAsync(Wait);
            var stopped = first == primary.Exited ? primary : backup;
            await stopped.OutputClosed.WaitAsync(Wait);
            stopped.ExitCode.Should().Be(3, stopped.OutputTail());
            stopped.GetOutput().Should().Contain(l => l.Contains("split brain, the peer is Active too", StringComparison.Ordinal));
        }
        finally
        {
            net.Dispose();
        }

        net.Existing().Should().BeEmpty("the test removes the namespaces it made");
    }

    private static Regex Transition(string to, string? cause = null) =>
        new($@"Binary Star \w+: \w+ -> {to}{(cause is null ? string.Empty : $@" \({cause}\)")}", RegexOptions.CultureInvariant);

    /// <summary>The node's state now: the target of its last transition line (before any: its role, which is its first state).</summary>
    private static string StateOf(ChildProcess node)
    {
        var output = node.GetOutput();
        for (int i = output.Count - 1; i >= 0; i--)
        {
            if (TransitionLine().Match(output[i]) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }

        return node.Name == "primary" ? "Primary" : "Backup";
    }

    private static async Task<List<(string Primary, string Backup)>> SampleAsync(ChildProcess primary, ChildProcess backup, TimeSpan duration)
    {
        var samples = new List<(string, string)>();
        long start = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < 10_000 && TimeProvider.System.GetElapsedTime(start) < duration; i++)
        {
            samples.Add((StateOf(primary), StateOf(backup)));
            await Task.Delay(Sample, TimeProvider.System);
        }

        return samples;
    }

    [GeneratedRegex(@"Binary Star \w+: \w+ -> (\w+)", RegexOptions.CultureInvariant)]
    private static partial Regex TransitionLine();

    /// <summary>One failover Lazy Pirate client sending unique requests one after the other until stopped.</summary>
    private sealed class FailoverLoad : IAsyncDisposable
    {
        private readonly LazyPirateClient _client;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;
        private long _answered;
        private long _wrong;
        private long _failed;

        public FailoverLoad(string primary, string backup)
        {
            _client = new LazyPirateClient(new LazyPirateOptions
            {
                Endpoints = [primary, backup],
                Failover = true,
                RequestTimeout = TimeSpan.FromMilliseconds(500),
                RetryDelay = TimeSpan.FromMilliseconds(300),
                Attempts = 40,
            });
            _run = RunAsync();
        }

        public long Answered => Interlocked.Read(ref _answered);

        public async Task WaitForRepliesAsync(long count, TimeSpan timeout)
        {
            long start = TimeProvider.System.GetTimestamp();
            while (Answered < count)
            {
                if (TimeProvider.System.GetElapsedTime(start) > timeout || _run.IsCompleted)
                {
                    throw new TimeoutException($"{Answered} replies, expected {count} within {timeout.TotalSeconds:F0} s");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
            }
        }

        public async Task<(long Wrong, long Failed)> StopAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(Wait);
            return (Interlocked.Read(ref _wrong), Interlocked.Read(ref _failed));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(Wait);
            await _client.DisposeAsync();
            _stop.Dispose();
        }

        private async Task RunAsync()
        {
            // Bounded: stopped by the test, and at most 100000 requests.
            for (int i = 0; i < 100_000 && !_stop.IsCancellationRequested; i++)
            {
                string body = "split-" + i.ToString(CultureInfo.InvariantCulture);
                try
                {
                    var reply = await _client.RequestAsync(Message.FromStrings(body), _stop.Token);
                    Interlocked.Increment(ref reply.Count == 1 && reply.GetString(0) == body ? ref _answered : ref _wrong);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (RequestFailedException)
                {
                    Interlocked.Increment(ref _failed);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
            }
        }
    }
}
