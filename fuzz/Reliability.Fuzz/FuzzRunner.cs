using System.Diagnostics;
using Reliability.Transport;

namespace Reliability.Fuzz;

/// <summary>How long a run goes on and how it judges a target.</summary>
internal sealed record FuzzSettings
{
    /// <summary>Inputs to try, the corpus itself first.</summary>
    public long Inputs { get; init; } = 100_000;

    /// <summary>Stop after this long even if <see cref="Inputs"/> is not reached.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Seeds the mutator: the same seed, corpus and target give the same inputs.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>An input still running after this long is a hang.</summary>
    public TimeSpan HangLimit { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A run stops once this many findings are collected.</summary>
    public int MaxFindings { get; init; } = 10;
}

/// <summary>What a finding is.</summary>
internal enum FindingKind
{
    /// <summary>An exception other than the decoder's refusal (<see cref="ProtocolException"/>).</summary>
    Crash,

    /// <summary>The input ran longer than the hang limit.</summary>
    Hang,

    /// <summary>The input made the target allocate more than its allowance.</summary>
    Allocation,

    /// <summary>A property the target checks did not hold (<see cref="PropertyViolationException"/>).</summary>
    Property,
}

/// <summary>One input that broke a rule, with enough to reproduce it.</summary>
internal sealed record Finding(FindingKind Kind, long InputNumber, byte[] Input, string Detail);

/// <summary>The result of fuzzing one target.</summary>
internal sealed record FuzzReport(string Target, long Inputs, long Refused, TimeSpan Elapsed, IReadOnlyList<Finding> Findings)
{
    /// <summary>The summary line the program prints.</summary>
    public override string ToString()
    {
        int Count(FindingKind kind) => Findings.Count(f => f.Kind == kind);
        double seconds = Math.Max(Elapsed.TotalSeconds, 1e-6);
        long refusedPercent = Inputs == 0 ? 0 : Refused * 100 / Inputs;
        return $"fuzz: {Target}: {Inputs} inputs ({refusedPercent}% refused), {Count(FindingKind.Crash)} crashes, {Count(FindingKind.Hang)} hangs, "
            + $"{Count(FindingKind.Allocation)} over-allocations, {Count(FindingKind.Property)} property violations in {seconds:F1} s ({Inputs / seconds:F0}/s)";
    }
}

/// <summary>
/// Runs a target over its corpus and then over mutations of it, on a thread of its own so that a
/// hang can be seen (and reported) from outside: a hung input cannot be stopped, only left behind
/// on a background thread, so the run ends there.
/// </summary>
internal static class FuzzRunner
{
    public static FuzzReport Run(FuzzTarget target, IReadOnlyList<byte[]> corpus, FuzzSettings settings)
    {
        var run = new TargetRun(target, corpus, settings);
        var thread = new Thread(run.Loop) { IsBackground = true, Name = "fuzz " + target.Name };
        thread.Start();
        while (!thread.Join(TimeSpan.FromMilliseconds(50)))
        {
            if (run.CurrentInputAge() > settings.HangLimit)
            {
                run.ReportHang();
                break;
            }
        }

        return run.Report();
    }

    private sealed class TargetRun(FuzzTarget target, IReadOnlyList<byte[]> corpus, FuzzSettings settings)
    {
        private readonly Stopwatch _clock = new();
        private readonly List<Finding> _findings = [];
        private long _done;
        private long _refused;
        private long _inputStartedTicks = -1;
        private byte[]? _current;
        private volatile bool _stop;

        public void Loop()
        {
            _clock.Start();
            var mutator = new Mutator(corpus, settings.Seed);
            for (long number = 0; number < settings.Inputs && !_stop; number++)
            {
                if (settings.Duration is { } duration && _clock.Elapsed >= duration)
                {
                    break;
                }

                byte[] input = number < corpus.Count ? corpus[(int)number] : mutator.Next();
                Volatile.Write(ref _current, input);
                Volatile.Write(ref _inputStartedTicks, _clock.ElapsedTicks);
                long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    target.Run(input);
                }
                catch (ProtocolException)
                {
                    _refused++;
                }
                catch (PropertyViolationException ex)
                {
                    Add(new Finding(FindingKind.Property, number, input, ex.Message));
                }
                catch (Exception ex)
                {
                    Add(new Finding(FindingKind.Crash, number, input, ex.ToString()));
                }

                long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                long allowed = target.AllocationAllowance + ((long)target.AllocationPerInputOctet * input.Length);
                if (allocated > allowed)
                {
                    Add(new Finding(FindingKind.Allocation, number, input, $"{allocated} octets allocated for a {input.Length}-octet input (allowed {allowed})"));
                }

                Volatile.Write(ref _inputStartedTicks, -1);
                Interlocked.Increment(ref _done);
            }

            _clock.Stop();
        }

        public TimeSpan CurrentInputAge()
        {
            long started = Volatile.Read(ref _inputStartedTicks);
            return started < 0 ? TimeSpan.Zero : TimeSpan.FromTicks((_clock.ElapsedTicks - started) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
        }

        public void ReportHang()
        {
            _stop = true;
            Add(new Finding(FindingKind.Hang, Interlocked.Read(ref _done), Volatile.Read(ref _current) ?? [], $"still running after {settings.HangLimit.TotalSeconds:F1} s"));
        }

        public FuzzReport Report()
        {
            lock (_findings)
            {
                return new FuzzReport(target.Name, Interlocked.Read(ref _done), Interlocked.Read(ref _refused), _clock.Elapsed, _findings.ToList());
            }
        }

        private void Add(Finding finding)
        {
            lock (_findings)
            {
                _findings.Add(finding);
                if (_findings.Count >= settings.MaxFindings)
                {
                    _stop = true;
                }
            }
        }
    }
}
