using System.Diagnostics;
using PeerNet.Sharing;
using PeerNet.Sharing.Driver;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// A peer that offered and was turned away (the peers were full) offers again while the seeder is
/// still in the room, so it gets the item once a slot frees — without it, the newcomer would wait
/// forever beside the only seeder.
/// </summary>
[Collection(SharingCliCollection.Name)]
public sealed class ShareSwarmRedialTests(ITestOutputHelper output) : SwarmOnHubTest
{
    [Fact(Timeout = 120_000)]
    public async Task A_peer_turned_away_by_a_full_seeder_reconnects_when_a_slot_frees()
    {
        var file = Files.Random("full.bin", 4L << 20, seed: 91);
        var item = await ItemSealer.SealAsync(ItemSource.FromFile(file));
        using var plain = new PlainPieceSource(item);
        await using var seederSignaling = await ConnectAsync();
        await using var seeder = await ShareSwarm.StartAsync(seederSignaling, plain, new ShareSwarmOptions { MaxConnections = 1 });

        // The first downloader takes the seeder's only slot and keeps it after it completes (and,
        // full itself, turns others away too).
        var first = Path.Combine(Files.Downloads, "first");
        await using var firstSignaling = await ConnectAsync();
        var firstSwarm = await ShareSwarm.StartAsync(firstSignaling, item.Id,
            async (info, token) => await DownloadStore.OpenAsync(first, info, item.Key, token), new ShareSwarmOptions { MaxConnections = 1 });
        await firstSwarm.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        // The second is turned away by both: its connections never open (3 s), it waits and offers again.
        var second = Path.Combine(Files.Downloads, "second");
        await using var secondSignaling = await ConnectAsync();
        var clock = Stopwatch.StartNew();
        await using var secondSwarm = await ShareSwarm.StartAsync(secondSignaling, item.Id,
            async (info, token) => await DownloadStore.OpenAsync(second, info, item.Key, token),
            new ShareSwarmOptions { ConnectTimeout = TimeSpan.FromSeconds(3) });
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.False(secondSwarm.Completion.IsCompleted, "the full seeder served a second peer");
        Assert.Equal(0, secondSwarm.Progress.Peers);

        // The first leaves; the seeder is still in the room, so the second's next offer gets in.
        await firstSwarm.DisposeAsync();
        await secondSwarm.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"the second peer completed {clock.Elapsed.TotalSeconds:0.0} s after it joined");
        Assert.Equal(TestFiles.Sha256Hex(file), TestFiles.Sha256Hex(Path.Combine(second, "full.bin")));
        Assert.Equal(TestFiles.Sha256Hex(file), TestFiles.Sha256Hex(Path.Combine(first, "full.bin")));
    }
}
