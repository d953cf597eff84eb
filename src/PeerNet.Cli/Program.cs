using System.CommandLine;
using PeerNet.Cli;

// For `serve`, socket completions run inline on the event threads rather than queued to the thread pool: the
// hub's per-message work is short and never blocks, and this roughly halves thread hops per
// signal. Read once by the runtime when sockets are first used, so it must be set first thing.
if (args is ["serve", ..] && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var root = new RootCommand("PeerNet: peer-to-peer file sharing and data over WebRTC.")
{
    ServeCommand.Create(),
    TurnCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
