using System.Diagnostics;

namespace Reliability.Testing.PyZmq;

/// <summary>Result of probing a Python interpreter for pyzmq.</summary>
/// <param name="PythonPath">The interpreter that was probed.</param>
/// <param name="IsAvailable">True when <c>import zmq</c> worked.</param>
/// <param name="PyZmqVersion">pyzmq's version, when available.</param>
/// <param name="LibZmqVersion">The libzmq version pyzmq is linked against, when available.</param>
/// <param name="Problem">Why pyzmq is not usable, when it is not.</param>
public sealed record PyZmqProbeResult(
    string PythonPath, bool IsAvailable, string? PyZmqVersion, string? LibZmqVersion, string? Problem);

/// <summary>
/// Where the Python interpreter and the peer scripts are, whether pyzmq works, and whether
/// interop tests should run, be skipped, or fail because pyzmq is missing.
/// </summary>
public static class PyZmqEnvironment
{
    /// <summary>Environment variable that overrides the interpreter (default <c>/usr/bin/python3</c>).</summary>
    public const string PythonVariable = "RELIABILITY_PYTHON";

    /// <summary>The interpreter used when <see cref="PythonVariable"/> is not set: Debian's, which has python3-zmq.</summary>
    public const string DefaultPythonPath = "/usr/bin/python3";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<PyZmqProbeResult> CachedProbe = new(() => Probe(PythonPath));

    /// <summary>The interpreter the peers run under.</summary>
    public static string PythonPath
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable(PythonVariable);
            return string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultPythonPath : fromEnvironment;
        }
    }

    /// <summary>True when the environment variable <c>CI</c> is <c>true</c>: missing pyzmq is then a failure, never a skip.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The probe of <see cref="PythonPath"/>, run once per test process.</summary>
    public static PyZmqProbeResult ProbeResult => CachedProbe.Value;

    /// <summary>Folder holding the bundled peer scripts (copied next to the test assembly).</summary>
    public static string PeersDirectory => Path.Combine(AppContext.BaseDirectory, "PyZmq", "peers");

    /// <summary>The general-purpose line-protocol peer, <c>zmq_peer.py</c>.</summary>
    public static string PeerScriptPath => Path.Combine(PeersDirectory, "zmq_peer.py");

    /// <summary>
    /// Skip reason for interop tests, or null when they must run. Null also when pyzmq is missing
    /// but <see cref="IsCi"/> is set: the test then runs and fails in <see cref="EnsureAvailable"/>.
    /// </summary>
    public static string? SkipReason => GetSkipReason(ProbeResult, IsCi);

    /// <summary>Pure form of <see cref="SkipReason"/>, for testing the decision itself.</summary>
    /// <param name="probe">The probe outcome.</param>
    /// <param name="isCi">Whether this run is CI.</param>
    /// <returns>The skip reason, or null to run the test.</returns>
    public static string? GetSkipReason(PyZmqProbeResult probe, bool isCi)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.IsAvailable || isCi)
        {
            return null;
        }

        return $"pyzmq is not available under {probe.PythonPath} ({probe.Problem}); install Debian's python3-zmq to run libzmq interop tests (under CI=true this is a failure, not a skip)";
    }

    /// <summary>Throws <see cref="PyZmqUnavailableException"/> unless pyzmq works under <see cref="PythonPath"/>.</summary>
    /// <exception cref="PyZmqUnavailableException">pyzmq cannot be imported.</exception>
    public static void EnsureAvailable()
    {
        var probe = ProbeResult;
        if (!probe.IsAvailable)
        {
            throw new PyZmqUnavailableException(
                $"pyzmq is not available under {probe.PythonPath}: {probe.Problem}" + (IsCi ? " (CI=true: interop tests must run, install python3-zmq)" : string.Empty));
        }
    }

    /// <summary>Runs <c>import zmq</c> under <paramref name="pythonPath"/> (bounded by a timeout); never throws.</summary>
    /// <param name="pythonPath">Interpreter to probe.</param>
    /// <returns>What was found.</returns>
    public static PyZmqProbeResult Probe(string pythonPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pythonPath);
        if (!File.Exists(pythonPath))
        {
            return new PyZmqProbeResult(pythonPath, false, null, null, "interpreter not found");
        }

        var start = new ProcessStartInfo(pythonPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import zmq; print(zmq.__version__, zmq.zmq_version())");
        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return new PyZmqProbeResult(pythonPath, false, null, null, "the interpreter did not start");
            }

            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ProbeTimeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(ProbeTimeout);
                return new PyZmqProbeResult(pythonPath, false, null, null, "the probe timed out");
            }

            process.WaitForExit();
            var output = stdout.Result.Trim();
            if (process.ExitCode != 0)
            {
                var error = stderr.Result.Trim().Split('\n').LastOrDefault() ?? string.Empty;
                return new PyZmqProbeResult(pythonPath, false, null, null, $"import zmq failed: {error}");
            }

            var parts = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2
                ? new PyZmqProbeResult(pythonPath, true, parts[0], parts[1], null)
                : new PyZmqProbeResult(pythonPath, false, null, null, $"unexpected probe output '{output}'");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return new PyZmqProbeResult(pythonPath, false, null, null, ex.Message);
        }
    }
}
