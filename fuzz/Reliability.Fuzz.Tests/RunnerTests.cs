using Reliability.Transport;

namespace Reliability.Fuzz.Tests;

/// <summary>The runner's judgement: what counts as a refusal, a crash, a hang, an over-allocation.</summary>
public class RunnerTests
{
    private static readonly byte[][] Corpus = [[1, 2, 3], [0xFF, 0, 0x7F]];

    [Fact]
    public void Run_ProtocolException_IsARefusalNotAFinding()
    {
        var target = Target(_ => throw new ProtocolException(ProtocolError.MalformedFrame, "bad"));

        var report = FuzzRunner.Run(target, Corpus, new FuzzSettings { Inputs = 100 });

        report.Findings.Should().BeEmpty();
        report.Refused.Should().Be(100);
        report.Inputs.Should().Be(100);
    }

    [Fact]
    public void Run_OtherException_IsACrashWithItsInput()
    {
        var target = Target(input =>
        {
            if (input.Length > 0 && input[0] == 0xFF)
            {
                throw new IndexOutOfRangeException("boom");
            }
        });

        var report = FuzzRunner.Run(target, Corpus, new FuzzSettings { Inputs = 2 });

        report.Findings.Should().ContainSingle().Which.Should().Match<Finding>(f => f.Kind == FindingKind.Crash && f.InputNumber == 1 && f.Input.SequenceEqual(Corpus[1]) && f.Detail.Contains("boom"));
    }

    [Fact]
    public void Run_PropertyViolation_IsReportedAsSuch()
    {
        var report = FuzzRunner.Run(Target(_ => throw new PropertyViolationException("round trip")), Corpus, new FuzzSettings { Inputs = 1 });

        report.Findings.Should().ContainSingle().Which.Kind.Should().Be(FindingKind.Property);
    }

    [Fact]
    public void Run_AllocationOverAllowance_IsAFinding()
    {
        byte[]? kept = null;
        var target = Target(_ => kept = new byte[1024 * 1024]) with { AllocationAllowance = 64 * 1024 };

        var report = FuzzRunner.Run(target, Corpus, new FuzzSettings { Inputs = 1 });

        kept.Should().NotBeNull();
        report.Findings.Should().ContainSingle().Which.Kind.Should().Be(FindingKind.Allocation);
    }

    [Fact]
    public void Run_InputThatNeverReturns_IsAHangAndEndsTheRun()
    {
        using var release = new ManualResetEventSlim();
        var target = Target(input =>
        {
            if (input.SequenceEqual(Corpus[1]))
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }
        });

        var report = FuzzRunner.Run(target, Corpus, new FuzzSettings { Inputs = 1000, HangLimit = TimeSpan.FromMilliseconds(200) });
        release.Set();

        report.Findings.Should().ContainSingle().Which.Should().Match<Finding>(f => f.Kind == FindingKind.Hang && f.Input.SequenceEqual(Corpus[1]));
        report.Inputs.Should().Be(1, "the first input finished, the second hung");
    }

    [Fact]
    public void Run_MaxFindings_StopsTheRun()
    {
        var report = FuzzRunner.Run(Target(_ => throw new InvalidOperationException()), Corpus, new FuzzSettings { Inputs = 1000, MaxFindings = 3 });

        report.Findings.Should().HaveCount(3);
        report.Inputs.Should().Be(3);
    }

    [Fact]
    public void Mutator_SameSeed_SameInputs_AndBoundedLength()
    {
        var first = new Mutator(Corpus, seed: 7);
        var second = new Mutator(Corpus, seed: 7);
        var third = new Mutator(Corpus, seed: 8);

        var a = Enumerable.Range(0, 2000).Select(_ => first.Next()).ToList();
        var b = Enumerable.Range(0, 2000).Select(_ => second.Next()).ToList();
        var c = Enumerable.Range(0, 2000).Select(_ => third.Next()).ToList();

        a.Zip(b).Should().OnlyContain(pair => pair.First.SequenceEqual(pair.Second));
        a.Zip(c).Should().Contain(pair => !pair.First.SequenceEqual(pair.Second));
        a.Should().OnlyContain(input => input.Length <= Mutator.MaxInputLength);
        a.Select(Convert.ToHexString).Distinct().Count().Should().BeGreaterThan(1000, "mutations must explore, not repeat the corpus");
    }

    [Fact]
    public void FrameEncoding_RoundTripsMessages_WithShortAndLongFrames()
    {
        var message = new Message(3).Append(new byte[300]).AppendEmpty().Append("abc");

        var decoded = FrameEncoding.Decode(FrameEncoding.Encode(message));

        decoded.Count.Should().Be(3);
        decoded[0].Length.Should().Be(300);
        decoded[1].Length.Should().Be(0);
        decoded.GetString(2).Should().Be("abc");
    }

    private static FuzzTarget Target(Action<byte[]> run) => new("test", "a target made for the runner's tests", run, () => Corpus);
}
