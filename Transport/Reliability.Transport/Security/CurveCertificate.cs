using System.Text;

namespace Reliability.Transport;

/// <summary>
/// A CURVE certificate in czmq's <c>zcert</c> text format (ZPL, ZeroMQ RFC 4), the files that
/// <c>zcert_save</c>, <c>zmq.auth.create_certificates</c> and <c>curve_keygen</c> tools write: a public file
/// with <c>curve/public-key</c>, and a secret file that also holds <c>curve/secret-key</c>.
/// Keys are Z85 (40 characters). Metadata (e.g. <c>name</c>, <c>email</c>) are kept as text.
/// </summary>
public sealed class CurveCertificate
{
    /// <summary>Largest certificate file read; anything longer is not a certificate.</summary>
    private const int MaxFileLength = 64 * 1024;

    /// <summary>Creates a certificate from Z85 keys; <paramref name="secretKey"/> may be null (a public certificate).</summary>
    /// <exception cref="FormatException">A key is not Z85, or the secret key does not belong to the public key.</exception>
    public CurveCertificate(string publicKey, string? secretKey = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        CurveKeyPair.DecodeKey(publicKey, nameof(publicKey));
        if (secretKey is not null && CurveKeyPair.FromSecretKey(secretKey).PublicKey != publicKey)
        {
            throw new FormatException("The secret key of the certificate does not belong to its public key.");
        }

        PublicKey = publicKey;
        SecretKey = secretKey;
        Metadata = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
    }

    /// <summary>The public key, Z85.</summary>
    public string PublicKey { get; }

    /// <summary>The secret key, Z85; null for a public certificate.</summary>
    public string? SecretKey { get; }

    /// <summary>The <c>metadata</c> section's entries.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>A certificate with a fresh key pair.</summary>
    public static CurveCertificate Generate(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var pair = CurveKeyPair.Generate();
        return new CurveCertificate(pair.PublicKey, pair.SecretKey, metadata);
    }

    /// <summary>Reads a public or secret certificate file.</summary>
    /// <exception cref="FormatException">The file is not a certificate.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static CurveCertificate Load(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > MaxFileLength)
        {
            throw new FormatException($"'{path}' is larger than {MaxFileLength} bytes: not a certificate.");
        }

        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Reads a certificate file; false (not an exception) when it is unreadable or not a certificate.</summary>
    public static bool TryLoad(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CurveCertificate? certificate)
    {
        try
        {
            certificate = Load(path);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            certificate = null;
            return false;
        }
    }

    /// <summary>Parses certificate text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="FormatException">The text is not a certificate.</exception>
    public static CurveCertificate Parse(string text, string source = "certificate")
    {
        ArgumentNullException.ThrowIfNull(text);
        string? section = null;
        string? publicKey = null;
        string? secretKey = null;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }

            int equals = trimmed.IndexOf('=', StringComparison.Ordinal);
            bool indented = line[0] is ' ' or '\t';
            if (!indented)
            {
                // A top-level name opens a section ("metadata", "curve"); ZPL allows "name = value" there too.
                section = equals < 0 ? trimmed : null;
                continue;
            }

            if (equals < 0 || section is null)
            {
                continue;
            }

            string name = trimmed[..equals].Trim();
            string value = Unquote(trimmed[(equals + 1)..].Trim());
            if (section == "curve" && name == "public-key")
            {
                publicKey = value;
            }
            else if (section == "curve" && name == "secret-key")
            {
                secretKey = value;
            }
            else if (section == "metadata")
            {
                metadata[name] = value;
            }
        }

        if (publicKey is null)
        {
            throw new FormatException($"{source}: no curve/public-key entry, not a CURVE certificate.");
        }

        try
        {
            return new CurveCertificate(publicKey, secretKey, metadata);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{source}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes the public certificate to <paramref name="path"/> and, when this certificate has a secret key,
    /// the secret one to <paramref name="path"/><c>_secret</c> (as <c>zcert_save</c> does), readable by its owner only.
    /// </summary>
    public void Save(string path)
    {
        SavePublic(path);
        if (SecretKey is not null)
        {
            SaveSecret(path + "_secret");
        }
    }

    /// <summary>Writes the public certificate (no secret key) to <paramref name="path"/>.</summary>
    public void SavePublic(string path) => File.WriteAllText(path, Format(includeSecret: false), new UTF8Encoding(false));

    /// <summary>Writes the secret certificate to <paramref name="path"/>, with owner-only permissions on Unix.</summary>
    /// <exception cref="InvalidOperationException">This is a public certificate.</exception>
    public void SaveSecret(string path)
    {
        if (SecretKey is null)
        {
            throw new InvalidOperationException("A public certificate has no secret key to save.");
        }

        // Created with owner-only permissions, so the secret is never readable by others.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies to new files only; an existing file keeps its mode otherwise.
            File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        writer.Write(Format(includeSecret: true));
    }

    /// <summary>The certificate text; the secret key only with <paramref name="includeSecret"/>.</summary>
    public string Format(bool includeSecret)
    {
        var text = new StringBuilder();
        text.Append("#   ****  Generated by Reliability.Transport  ****\n");
        text.Append(includeSecret && SecretKey is not null
            ? "#   ZeroMQ CURVE **Secret** Certificate\n#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
            : "#   ZeroMQ CURVE Public Certificate\n#   Exchange securely, or use a secure mechanism to verify the contents\n#   of this file after exchange.\n");
        text.Append('\n').Append("metadata\n");
        foreach (var (name, value) in Metadata)
        {
            text.Append("    ").Append(name).Append(" = \"").Append(value.Replace("\"", string.Empty, StringComparison.Ordinal)).Append("\"\n");
        }

        text.Append("curve\n");
        text.Append("    public-key = \"").Append(PublicKey).Append("\"\n");
        if (includeSecret && SecretKey is not null)
        {
            text.Append("    secret-key = \"").Append(SecretKey).Append("\"\n");
        }

        return text.ToString();
    }

    /// <summary>Shows the public key only.</summary>
    /// <returns>The certificate's public key.</returns>
    public override string ToString() => $"CurveCertificate(public {PublicKey}{(SecretKey is null ? string.Empty : ", with secret key")})";

    private static string Unquote(string value) =>
        value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0] ? value[1..^1] : value;
}
