using System.Globalization;

namespace Reliability.Mdp.Broker;

/// <summary>The security settings of the schema (<see cref="BrokerOptions.Security"/>, docs/security.md).</summary>
public static partial class BrokerSettings
{
    /// <summary><see cref="BrokerSecurityOptions.CurveSecretKey"/>: the broker's CURVE secret key, Z85.</summary>
    public const string CurveSecretKey = "CurveSecretKey";

    /// <summary>A czmq secret certificate file to read <see cref="BrokerSecurityOptions.CurveSecretKey"/> from (instead of <see cref="CurveSecretKey"/>).</summary>
    public const string CurveSecretFile = "CurveSecretFile";

    /// <summary><see cref="BrokerSecurityOptions.CurveAllowedKeys"/>: Z85 keys, comma-separated or indexed (<c>CurveAllowKeys:0</c>, ...).</summary>
    public const string CurveAllowKeys = "CurveAllowKeys";

    /// <summary><see cref="BrokerSecurityOptions.CurveAllowDirectory"/>.</summary>
    public const string CurveAllowDir = "CurveAllowDir";

    /// <summary><see cref="BrokerSecurityOptions.PlainUsers"/>: <c>user:password</c> entries, comma-separated or indexed.</summary>
    public const string PlainUsers = "PlainUsers";

    /// <summary><see cref="BrokerSecurityOptions.ClientAuth"/>: none, plain or curve.</summary>
    public const string ClientAuth = "ClientAuth";

    /// <summary><see cref="BrokerSecurityOptions.WorkerAuth"/>: none, plain or curve.</summary>
    public const string WorkerAuth = "WorkerAuth";

    /// <summary><see cref="BrokerSecurityOptions.AuthorizedWorkers"/>: user ids, comma-separated or indexed.</summary>
    public const string AuthorizedWorkers = "AuthorizedWorkers";

    /// <summary>The keys that take several values.</summary>
    internal static IReadOnlyList<string> SecurityListKeys => [CurveAllowKeys, PlainUsers, AuthorizedWorkers];

    // A property, not a field: Keys (another file of this partial class) reads it during its own initialisation.
    private static IReadOnlyList<string> SecurityKeys => [CurveSecretKey, CurveSecretFile, CurveAllowKeys, CurveAllowDir, PlainUsers, ClientAuth, WorkerAuth, AuthorizedWorkers];

    /// <summary>Collects a security setting (plain or indexed key) into <paramref name="security"/>; false for other keys.</summary>
    private static bool TryTakeSecurity(string key, string? value, Dictionary<string, List<string>> security)
    {
        int colon = key.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? key : key[..colon];
        string? canonical = SecurityKeys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        if (canonical is null || (colon >= 0 && !SecurityListKeys.Contains(canonical)))
        {
            return false;
        }

        if (value is not null)
        {
            var values = security.TryGetValue(canonical, out var list) ? list : security[canonical] = [];
            if (colon < 0)
            {
                // A plain value replaces what a lower layer gave, as Bind does.
                values.Clear();
            }

            values.AddRange(SecurityListKeys.Contains(canonical)
                ? value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [value]);
        }

        return true;
    }

    /// <summary>Applies the collected security settings; problems of their own (unreadable file, bad words) are added.</summary>
    private static BrokerOptions WithSecurity(BrokerOptions options, Dictionary<string, List<string>> security, List<string> problems)
    {
        if (security.Count == 0)
        {
            return options;
        }

        var result = options.Security ?? new BrokerSecurityOptions();
        string? Single(string key) => security.TryGetValue(key, out var values) ? values.LastOrDefault() : null;
        if (Single(CurveSecretKey) is { } secret)
        {
            result = result with { CurveSecretKey = secret };
        }

        if (Single(CurveSecretFile) is { } file)
        {
            if (Single(CurveSecretKey) is not null)
            {
                problems.Add($"give {CurveSecretKey} or {CurveSecretFile}, not both");
            }
            else if (ReadSecretFile(file, problems) is { } fromFile)
            {
                result = result with { CurveSecretKey = fromFile };
            }
        }

        if (security.TryGetValue(CurveAllowKeys, out var allowed))
        {
            result = result with { CurveAllowedKeys = allowed };
        }

        if (Single(CurveAllowDir) is { } directory)
        {
            result = result with { CurveAllowDirectory = directory };
        }

        if (security.TryGetValue(PlainUsers, out var users))
        {
            var table = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in users)
            {
                int colon = entry.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    problems.Add($"{PlainUsers}: '{entry}' is not user:password");
                    continue;
                }

                table[entry[..colon]] = entry[(colon + 1)..];
            }

            result = result with { PlainUsers = table };
        }

        result = result with
        {
            ClientAuth = ParseAuth(ClientAuth, Single(ClientAuth), problems) ?? result.ClientAuth,
            WorkerAuth = ParseAuth(WorkerAuth, Single(WorkerAuth), problems) ?? result.WorkerAuth,
        };
        if (security.TryGetValue(AuthorizedWorkers, out var workers))
        {
            result = result with { AuthorizedWorkers = workers };
        }

        return options with { Security = result };
    }

    private static string? ReadSecretFile(string path, List<string> problems)
    {
        try
        {
            var certificate = Transport.CurveCertificate.Load(path);
            if (certificate.SecretKey is null)
            {
                problems.Add($"{CurveSecretFile}: '{path}' is a public certificate; the broker needs its secret one");
            }

            return certificate.SecretKey;
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            problems.Add($"{CurveSecretFile}: '{path}' cannot be read: {ex.Message}");
            return null;
        }
    }

    private static BrokerPeerAuth? ParseAuth(string key, string? value, List<string> problems)
    {
        if (value is null)
        {
            return null;
        }

        if (Enum.TryParse(value, ignoreCase: true, out BrokerPeerAuth auth) && Enum.IsDefined(auth) && !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return auth;
        }

        problems.Add($"{key}: '{value}' is not none, plain or curve");
        return null;
    }
}
