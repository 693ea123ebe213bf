using Reliability.Testing;

namespace Reliability.Transport.Tests.Security;

/// <summary>The authenticator's rules on their own (docs/security.md): addresses, PLAIN users, CURVE keys and directories, the hook.</summary>
public sealed class AuthenticatorTests : IDisposable
{
    private static readonly CurveKeyPair Alice = CurveKeyPair.Generate();
    private static readonly CurveKeyPair Bob = CurveKeyPair.Generate();
    private readonly string _directory = Directory.CreateTempSubdirectory("zap-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static AuthenticationRequest Curve(string key, string address = "tcp://127.0.0.1:4000") =>
        new(SecurityMechanism.Curve, address, CurvePublicKey: key);

    private static AuthenticationRequest Plain(string user, string password, string address = "tcp://127.0.0.1:4000") =>
        new(SecurityMechanism.Plain, address, user, password);

    [Fact]
    public void Plain_ListedUserWithRightPassword_AllowedWithUserNameAsUserId()
    {
        var auth = new Authenticator();
        auth.AddPlainUser("admin", "secret");

        auth.Authenticate(Plain("admin", "secret")).Should().Be(new AuthenticationResult(true, "admin", "PLAIN user 'admin' allowed"));
        auth.Authenticate(Plain("admin", "secreT")).Allowed.Should().BeFalse();
        auth.Authenticate(Plain("root", "secret")).Allowed.Should().BeFalse();
        (auth.AcceptedCount, auth.RefusedCount).Should().Be((1, 2));
    }

    [Fact]
    public void Curve_OnlyAllowedKeys_AndNothingConfiguredRefusesAll()
    {
        var auth = new Authenticator();
        auth.Authenticate(Curve(Alice.PublicKey)).Reason.Should().Contain("no users or keys");

        auth.AllowCurveKey(Alice.PublicKey);
        var allowed = auth.Authenticate(Curve(Alice.PublicKey));
        (allowed.Allowed, allowed.UserId).Should().Be((true, Alice.PublicKey));
        auth.Authenticate(Curve(Bob.PublicKey)).Allowed.Should().BeFalse();

        auth.RemoveCurveKey(Alice.PublicKey).Should().BeTrue();
        auth.AllowAnyCurveKey = true;
        auth.Authenticate(Curve(Bob.PublicKey)).Allowed.Should().BeTrue();
        FluentActions.Invoking(() => auth.AllowCurveKey("not a key")).Should().Throw<FormatException>();
    }

    [Fact]
    public void Addresses_DeniedFirst_ThenAllowListExcludesTheRest_IpcPasses()
    {
        var auth = new Authenticator { AllowAnyCurveKey = true };
        auth.DenyAddress("10.0.0.9");
        auth.Authenticate(Curve(Alice.PublicKey, "tcp://10.0.0.9:1234")).Reason.Should().Contain("denied");
        auth.Authenticate(Curve(Alice.PublicKey, "tcp://10.0.0.8:1234")).Allowed.Should().BeTrue("only a deny list so far");

        auth.AllowAddress("127.0.0.1");
        auth.Authenticate(Curve(Alice.PublicKey, "tcp://10.0.0.8:1234")).Reason.Should().Contain("not allowed");
        auth.Authenticate(Curve(Alice.PublicKey, "tcp://[::ffff:127.0.0.1]:1234")).Allowed.Should().BeTrue("IPv4-mapped addresses match their IPv4 form");
        auth.Authenticate(Curve(Alice.PublicKey, "ipc:///tmp/broker")).Allowed.Should().BeTrue();
        auth.Authenticate(new AuthenticationRequest(SecurityMechanism.Null, "tcp://10.0.0.8:1")).Allowed.Should().BeFalse();
        auth.Authenticate(new AuthenticationRequest(SecurityMechanism.Null, "tcp://127.0.0.1:1")).Allowed.Should().BeTrue();
        FluentActions.Invoking(() => auth.AllowAddress("localhost")).Should().Throw<FormatException>();
    }

    [Fact]
    public void Hook_DecidesAloneWithoutLists_AndCanStillRefuseListedPeers()
    {
        var seen = new List<AuthenticationRequest>();
        var auth = new Authenticator { Hook = r => { seen.Add(r); return r.UserName == "hooked"; } };
        auth.Authenticate(Plain("hooked", "any")).Allowed.Should().BeTrue();
        auth.Authenticate(Plain("other", "any")).Allowed.Should().BeFalse();

        auth.AddPlainUser("listed", "pw");
        auth.Authenticate(Plain("listed", "pw")).Reason.Should().Contain("hook");
        auth.Authenticate(Plain("hooked", "any")).Allowed.Should().BeFalse("the user list now applies first");
        seen.Should().HaveCount(3);
        seen[0].ToString().Should().NotContain("any", "a request never prints its password");
    }

    [Fact]
    public void CurveDirectory_ReloadedWhenItsFilesChange_AtMostOncePerInterval()
    {
        var clock = new ManualTimeProvider();
        var auth = new Authenticator(clock);
        new CurveCertificate(Alice.PublicKey).SavePublic(Path.Combine(_directory, "alice.key"));
        File.WriteAllText(Path.Combine(_directory, "README"), "not a certificate");
        auth.AllowCurveDirectory(_directory);

        auth.Authenticate(Curve(Alice.PublicKey)).Allowed.Should().BeTrue();
        auth.Authenticate(Curve(Bob.PublicKey)).Allowed.Should().BeFalse();

        new CurveCertificate(Bob.PublicKey).SavePublic(Path.Combine(_directory, "bob.key"));
        File.Delete(Path.Combine(_directory, "alice.key"));
        auth.Authenticate(Curve(Bob.PublicKey)).Allowed.Should().BeFalse("the directory is looked at once per interval");

        clock.Advance(auth.DirectoryCheckInterval);
        auth.Authenticate(Curve(Bob.PublicKey)).Allowed.Should().BeTrue();
        auth.Authenticate(Curve(Alice.PublicKey)).Allowed.Should().BeFalse("a removed certificate is no longer allowed");
        FluentActions.Invoking(() => auth.AllowCurveDirectory(Path.Combine(_directory, "missing"))).Should().Throw<DirectoryNotFoundException>();
    }
}
