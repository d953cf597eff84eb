using System.CommandLine;
using PeerNet.Cli;

var root = new RootCommand("PeerNet: peer-to-peer file sharing and data over WebRTC.")
{
    ServeCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
