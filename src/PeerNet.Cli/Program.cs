using System.CommandLine;
using PeerNet.Cli;

// For `serve` and `turn`, socket completions run inline on the event threads instead of being
// queued to the thread pool: the hub's per-message and the TURN server's per-datagram work is
// short and never blocks. This roughly halves thread hops per signal and cuts CPU per relayed
// packet by ~40% (docs/benchmarks.md). The runtime reads it once, when sockets are first used,
// so it must be set first thing.
if (args is ["serve" or "turn", ..] && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

// Piped or captured output (scripts, tests) must not be wrapped at 80 columns mid-sentence.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 1000;

var root = new RootCommand("PeerNet: peer-to-peer file sharing and data over WebRTC.")
{
    ServeCommand.Create(),
    TurnCommand.Create(),
    EchoCommand.Create(),
    PingCommand.Create(),
    DoctorCommand.Create(),
    ShareCommand.Create(),
    GetCommand.Create(),
    PinCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
