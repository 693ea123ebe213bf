namespace Reliability.Patterns.Tests;

/// <summary>What every pyzmq peer script embedded in these tests starts with.</summary>
internal static class PyZmqScript
{
    /// <summary>
    /// The imports, <c>out(...)</c> (one line per event on stdout, flushed, which the test reads) and a watchdog
    /// that ends the peer as soon as the test closes its stdin, so a failed test never leaves a peer running.
    /// </summary>
    public const string Preamble = """
        import os, sys, threading, time

        def out(*parts):
            sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
            sys.stdout.flush()

        def watchdog():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=watchdog, daemon=True).start()

        """;
}
