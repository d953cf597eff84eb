using PeerNet.Bench.Signaling;

// PeerNet benchmarks. Each compares PeerNet with a reference implementation on the same machine in
// the same run and reports ratios; docs/benchmarks.md keeps the latest figures.
// Socket completions run on the event thread instead of hopping to the thread pool: the load
// generator spends far less CPU per message (fewer thread wake-ups and context switches) and stays
// within about one core, leaving the rest of the machine to the server under test. Read once, when
// the first socket is used, so it must be set before that. Not passed on to the servers.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

if (args.Length > 0 && args[0] == "signaling")
    return await SignalingBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "turn")
    return await PeerNet.Bench.Turn.TurnBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "datachannel")
    return await PeerNet.Bench.DataChannels.DataChannelBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "connections")
    return await PeerNet.Bench.Connections.ConnectionsBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "throughput")
    return await PeerNet.Bench.Throughput.ThroughputBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "throughput-peer")
    return await PeerNet.Bench.Throughput.ThroughputPeer.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "throughput-micro")
    return PeerNet.Bench.Throughput.ThroughputMicro.Run(args[1..]);
if (args.Length > 0 && args[0] == "sharing")
    return PeerNet.Bench.Sharing.SharingBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "swarm")
    return await PeerNet.Bench.Sharing.SwarmBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "sharing-browser")
    return await PeerNet.Bench.BrowserSharing.BrowserSharingBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "connections-server")
    return await PeerNet.Bench.Connections.ConnectionsBenchmark.RunServerModeAsync();

Console.Error.WriteLine("usage: dotnet run -c Release --project bench/PeerNet.Bench -- <benchmark> [options]");
Console.Error.WriteLine();
Console.Error.WriteLine("benchmarks:");
Console.Error.WriteLine("  signaling   the PeerNet hub vs the PeerJS server: N WebSocket clients signalling in rooms");
Console.Error.WriteLine("  turn        peernet turn vs coturn: STUN Binding/s, ChannelData relay throughput, server CPU per op");
Console.Error.WriteLine("  datachannel peernet ping over loopback: PeerNet<->PeerNet, PeerNet<->Chromium, Chromium<->Chromium");
Console.Error.WriteLine("  throughput  one-way bulk transfer in 64 KiB messages: PeerNet, Chromium, aiortc pairs; MB/s, CPU s/GiB, peak RSS; loopback and 50 ms RTT");
Console.Error.WriteLine("  throughput-micro  BenchmarkDotNet (memory diagnoser): one 64 KiB message through two in-memory DTLS+SCTP transports");
Console.Error.WriteLine("  sharing     sealing + hashing throughput per core (256 KiB pieces): seal+leaf, verify+open, vs the raw BCL primitives");
Console.Error.WriteLine("  swarm       one item downloaded from 1, 2 and 4 seeders each capped at the same upload rate: time, MB/s, speed-up");
Console.Error.WriteLine("  sharing-browser  the same file shared browser to browser (Chromium): PeerNet's web app vs WebTorrent, time to complete, MB/s, CPU");
Console.Error.WriteLine("  connections N data channels held by one server process on one UDP port (IceUdpMux) vs aiortc: memory, threads, echo rate");
Console.Error.WriteLine();
Console.Error.WriteLine(BenchOptions.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.Turn.TurnBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.DataChannels.DataChannelBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.Connections.ConnectionsBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.Throughput.ThroughputBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.Sharing.SharingBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.Sharing.SwarmBenchmark.Usage);
Console.Error.WriteLine();
Console.Error.WriteLine(PeerNet.Bench.BrowserSharing.BrowserSharingBenchmark.Usage);
return 2;
