using PeerNet.Bench.Signaling;

// PeerNet benchmarks. Each compares PeerNet with a reference implementation on the same machine in
// the same run and reports ratios; docs/benchmarks.md keeps the latest figures.
if (args.Length > 0 && args[0] == "signaling")
    return await SignalingBenchmark.RunAsync(args[1..]);

Console.Error.WriteLine("usage: dotnet run -c Release --project bench/PeerNet.Bench -- <benchmark> [options]");
Console.Error.WriteLine();
Console.Error.WriteLine("benchmarks:");
Console.Error.WriteLine("  signaling   the PeerNet hub vs the PeerJS server: N WebSocket clients signalling in rooms");
Console.Error.WriteLine();
Console.Error.WriteLine(BenchOptions.Usage);
return 2;
