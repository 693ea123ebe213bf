namespace Reliability.Mdp.Titanic.Store;

/// <summary>
/// Where a store lives, as <c>--store</c> gives it: <c>sqlite:PATH</c> (one file) or <c>postgres:CONNSTR</c> (an
/// Npgsql connection string, e.g. <c>postgres:Host=db;Database=titanic;Username=titanic</c>).
/// </summary>
/// <param name="Engine">The engine prefix, <see cref="Sqlite"/> or <see cref="Postgres"/>.</param>
/// <param name="Target">The file path or the connection string.</param>
internal sealed record TitanicStoreLocation(string Engine, string Target)
{
    public const string Sqlite = "sqlite";

    public const string Postgres = "postgres";

    /// <summary>The location for display: the path, or the server and database without the password.</summary>
    public override string ToString() => Engine == Sqlite ? $"{Sqlite}:{Target}" : PostgresTitanicStore.Describe(Target);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="problem"/> says why.</summary>
    public static bool TryParse(string text, out TitanicStoreLocation? location, out string problem)
    {
        location = null;
        problem = string.Empty;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string engine = colon > 0 ? text[..colon].ToLowerInvariant() : string.Empty;
        string target = colon > 0 ? text[(colon + 1)..] : string.Empty;
        if (engine is not (Sqlite or Postgres) || target.Length == 0)
        {
            problem = $"'{text}' is not sqlite:PATH or postgres:CONNSTR";
            return false;
        }

        if (engine == Postgres)
        {
            try
            {
                PostgresTitanicStore.Describe(target);
            }
            catch (ArgumentException ex)
            {
                problem = $"postgres:CONNSTR: {ex.Message.Split(" (Parameter", 2)[0]}";
                return false;
            }
        }

        location = new TitanicStoreLocation(engine, target);
        return true;
    }

    /// <summary>Opens the store (creating its file or tables when missing).</summary>
    public async Task<ITitanicStore> OpenAsync(int maxRequests, CancellationToken cancellationToken = default) =>
        Engine == Sqlite
            ? SqliteTitanicStore.Open(Target, maxRequests)
            : await PostgresTitanicStore.OpenAsync(Target, maxRequests, cancellationToken: cancellationToken).ConfigureAwait(false);
}
