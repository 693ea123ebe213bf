using System.Diagnostics;
using System.Globalization;
using Reliability.Chaos.Processes;

namespace Reliability.Chaos.Network;

/// <summary>
/// Network namespaces and veth pairs made with <c>ip</c> (needs root), for faults a loopback proxy
/// cannot make: a node reachable from the clients but not from its peer. Everything is created under a
/// random prefix and removed on dispose (the namespaces, with the veth ends inside them, and the ends
/// left in the caller's namespace), also when a step in between failed.
/// </summary>
public sealed class NetworkNamespaces : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);
    private readonly List<string> _namespaces = [];
    private readonly List<string> _rootLinks = [];

    /// <summary>Creates an empty set under a fresh random prefix (nothing is created yet).</summary>
    public NetworkNamespaces()
    {
        Prefix = "rc" + Random.Shared.Next(0x10000).ToString("x4", CultureInfo.InvariantCulture);
    }

    /// <summary>The prefix of every name this set creates (6 characters, so interface names stay within 15).</summary>
    public string Prefix { get; }

    /// <summary>Why namespaces cannot be made here (not root, or no <c>ip</c>); null when they can.</summary>
    public static string? UnavailableReason =>
        !IsRootUid()
            ? "network namespaces need root (ip netns add)"
            : !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")
                ? "the ip command (iproute2) is not installed"
                : null;

    /// <summary>Creates namespace <c>{Prefix}{name}</c> with its loopback up.</summary>
    /// <param name="name">A short name (a few characters).</param>
    /// <returns>The namespace's full name.</returns>
    public string AddNamespace(string name)
    {
        string full = Prefix + name;
        Ip("netns", "add", full);
        _namespaces.Add(full);
        Ip("-n", full, "link", "set", "lo", "up");
        return full;
    }

    /// <summary>
    /// Creates a veth pair: end <c>{Prefix}{left}</c> in <paramref name="leftNamespace"/> (the caller's
    /// namespace when null) with address <paramref name="leftAddress"/>, end <c>{Prefix}{right}</c> in
    /// <paramref name="rightNamespace"/> with <paramref name="rightAddress"/> (CIDR, e.g. <c>10.1.2.1/30</c>); both up.
    /// </summary>
    /// <param name="left">Short name of the first end.</param>
    /// <param name="leftNamespace">Its namespace (full name), or null.</param>
    /// <param name="leftAddress">Its address.</param>
    /// <param name="right">Short name of the second end.</param>
    /// <param name="rightNamespace">Its namespace (full name), or null.</param>
    /// <param name="rightAddress">Its address.</param>
    public void AddLink(string left, string? leftNamespace, string leftAddress, string right, string? rightNamespace, string rightAddress)
    {
        string a = Prefix + left;
        string b = Prefix + right;
        Ip("link", "add", a, "type", "veth", "peer", "name", b);
        _rootLinks.Add(a);
        foreach (var (link, ns, address) in new[] { (a, leftNamespace, leftAddress), (b, rightNamespace, rightAddress) })
        {
            if (ns is not null)
            {
                Ip("link", "set", link, "netns", ns);
            }

            Ip([.. In(ns), "addr", "add", address, "dev", link]);
            Ip([.. In(ns), "link", "set", link, "up"]);
        }
    }

    /// <summary>Sets veth end <c>{Prefix}{link}</c> down (the pair carries nothing, sockets stay open) or up again.</summary>
    /// <param name="link">Short name of the end.</param>
    /// <param name="ns">Its namespace (full name), or null.</param>
    /// <param name="up">Up or down.</param>
    public void SetLink(string link, string? ns, bool up) => Ip([.. In(ns), "link", "set", Prefix + link, up ? "up" : "down"]);

    /// <summary><paramref name="command"/> run inside namespace <paramref name="ns"/> (<c>ip netns exec</c>, which execs it: the PID is the program's).</summary>
    /// <param name="ns">The namespace (full name).</param>
    /// <param name="command">The program.</param>
    /// <returns>The wrapped command.</returns>
    public static ProgramCommand Exec(string ns, ProgramCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return new ProgramCommand("ip", ["netns", "exec", ns, command.FileName, .. command.Arguments])
        {
            Environment = command.Environment,
            WorkingDirectory = command.WorkingDirectory,
        };
    }

    /// <summary>Removes every namespace and link this set made; errors are ignored (a link may be gone with its namespace).</summary>
    public void Dispose()
    {
        foreach (string ns in _namespaces)
        {
            TryIp("netns", "delete", ns);
        }

        foreach (string link in _rootLinks)
        {
            // Deleting a namespace removes the pairs with an end in it; a pair left entirely in ours goes here.
            if (Directory.Exists("/sys/class/net/" + link))
            {
                TryIp("link", "delete", link);
            }
        }

        _namespaces.Clear();
        _rootLinks.Clear();
    }

    /// <summary>The namespaces of this set that still exist (after <see cref="Dispose"/>: none, unless removal failed).</summary>
    /// <returns>Their full names.</returns>
    public IReadOnlyList<string> Existing() =>
        Directory.Exists("/run/netns") ? [.. Directory.GetFiles("/run/netns", Prefix + "*").Select(Path.GetFileName).OfType<string>()] : [];

    private static string[] In(string? ns) => ns is null ? [] : ["-n", ns];

    private static bool IsRootUid()
    {
        try
        {
            return File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Ip(params string[] arguments)
    {
        var (code, error) = Run(arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed with code {code}: {error.Trim()}");
        }
    }

    private static void TryIp(params string[] arguments) => Run(arguments);

    private static (int Code, string Error) Run(string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start ip");
        var error = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill();
            throw new TimeoutException($"ip {string.Join(' ', arguments)} did not finish within {CommandTimeout.TotalSeconds:F0} s");
        }

        return (process.ExitCode, error.GetAwaiter().GetResult());
    }
}
