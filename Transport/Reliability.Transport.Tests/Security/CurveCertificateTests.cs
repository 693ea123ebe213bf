namespace Reliability.Transport.Tests.Security;

/// <summary>Certificate files in czmq's zcert format, read and written.</summary>
public sealed class CurveCertificateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("zcert-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Parse_CzmqSecretCertificate_ReadsKeysAndMetadata()
    {
        // As czmq's zcert_save_secret writes it (ZPL: four-space indents, quoted values, '#' comments).
        var pair = CurveKeyPair.Generate();
        string text = $"""
            #   ****  Generated on 2015-01-01 00:00:00 by CZMQ  ****
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            metadata
                name = "broker"
                email = "ops@example.com"
            curve
                public-key = "{pair.PublicKey}"
                secret-key = "{pair.SecretKey}"

            """;

        var certificate = CurveCertificate.Parse(text);

        (certificate.PublicKey, certificate.SecretKey).Should().Be((pair.PublicKey, pair.SecretKey));
        certificate.Metadata.Should().Contain("name", "broker").And.Contain("email", "ops@example.com");
        certificate.ToString().Should().NotContain(pair.SecretKey);
    }

    [Fact]
    public void Save_WritesPublicAndOwnerOnlySecretFile_BothReadBack()
    {
        var certificate = CurveCertificate.Generate(new Dictionary<string, string> { ["name"] = "worker-1" });
        string path = Path.Combine(_directory, "worker.key");

        certificate.Save(path);

        var publicOnly = CurveCertificate.Load(path);
        (publicOnly.PublicKey, publicOnly.SecretKey).Should().Be((certificate.PublicKey, null));
        File.ReadAllText(path).Should().NotContain("secret-key");
        var secret = CurveCertificate.Load(path + "_secret");
        secret.SecretKey.Should().Be(certificate.SecretKey);
        secret.Metadata["name"].Should().Be("worker-1");
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(path + "_secret").Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Theory]
    [InlineData("metadata\ncurve\n")]
    [InlineData("curve\n    public-key = \"tooshort\"\n")]
    public void Parse_NotACertificate_Throws(string text) =>
        FluentActions.Invoking(() => CurveCertificate.Parse(text)).Should().Throw<FormatException>();

    [Fact]
    public void Parse_SecretOfAnotherPair_Throws()
    {
        string text = $"curve\n    public-key = \"{CurveKeyPair.Generate().PublicKey}\"\n    secret-key = \"{CurveKeyPair.Generate().SecretKey}\"\n";
        FluentActions.Invoking(() => CurveCertificate.Parse(text)).Should().Throw<FormatException>().WithMessage("*does not belong*");
    }

    [Fact]
    public void TryLoad_MissingFile_False() =>
        CurveCertificate.TryLoad(Path.Combine(_directory, "none"), out _).Should().BeFalse();
}
