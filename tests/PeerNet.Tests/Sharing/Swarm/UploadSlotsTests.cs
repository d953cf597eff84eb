using PeerNet.Sharing.Swarm;

namespace PeerNet.Tests.Sharing.Swarm;

public class UploadSlotsTests
{
    [Fact]
    public void InterestedPeersFillFreeSlotsAtOnce()
    {
        var slots = new UploadSlots(2, new Random(1));
        foreach (var p in new[] { "a", "b", "c" })
        {
            slots.Add(p);
            slots.SetInterested(p, true);
        }

        Assert.Equal(2, slots.UnchokedCount);
        var choked = new[] { "a", "b", "c" }.Single(p => !slots.IsUnchoked(p));
        var leaving = new[] { "a", "b", "c" }.First(slots.IsUnchoked);
        slots.SetInterested(leaving, false);
        Assert.False(slots.IsUnchoked(leaving));
        Assert.True(slots.IsUnchoked(choked));
        slots.Remove(choked);
        Assert.Equal(1, slots.UnchokedCount);
        slots.SetInterested(leaving, true);
        Assert.Equal(2, slots.UnchokedCount);
    }

    [Fact]
    public void RechokePrefersPeersThatUploadMostToUs()
    {
        var slots = new UploadSlots(3, new Random(2));
        var peers = new[] { "a", "b", "c", "d", "e" };
        foreach (var p in peers)
        {
            slots.Add(p);
            slots.SetInterested(p, true);
        }

        slots.AddReceived("d", 1_000_000);
        slots.AddReceived("e", 500_000);
        slots.AddReceived("a", 10);
        slots.Rechoke(rotateOptimistic: true);
        Assert.True(slots.IsUnchoked("d"));
        Assert.True(slots.IsUnchoked("e"));
        Assert.Equal(3, slots.UnchokedCount);
        var optimistic = peers.Single(p => slots.IsOptimistic(p));
        Assert.DoesNotContain(optimistic, new[] { "d", "e" });
    }

    [Fact]
    public void TheOptimisticSlotRotatesOverEveryone()
    {
        var slots = new UploadSlots(2, new Random(3));
        var peers = Enumerable.Range(0, 6).Select(i => $"p{i}").ToArray();
        foreach (var p in peers)
        {
            slots.Add(p);
            slots.SetInterested(p, true);
        }

        var seen = new HashSet<string>();
        for (var round = 0; round < 60; round++)
        {
            slots.AddReceived("p0", 1_000); // p0 keeps the regular slot
            slots.Rechoke(rotateOptimistic: true);
            Assert.True(slots.IsUnchoked("p0"));
            Assert.Equal(2, slots.UnchokedCount);
            seen.UnionWith(peers.Where(slots.IsOptimistic));
        }

        Assert.Equal(peers.Skip(1), seen.Order());
    }

    [Fact]
    public void WithoutRotationTheOptimisticPeerStays()
    {
        var slots = new UploadSlots(2, new Random(4));
        foreach (var p in new[] { "a", "b", "c", "d" })
        {
            slots.Add(p);
            slots.SetInterested(p, true);
        }

        slots.Rechoke(rotateOptimistic: true);
        var optimistic = new[] { "a", "b", "c", "d" }.Single(slots.IsOptimistic);
        for (var i = 0; i < 5; i++)
        {
            slots.Rechoke(rotateOptimistic: false);
            Assert.True(slots.IsOptimistic(optimistic));
            Assert.True(slots.IsUnchoked(optimistic));
        }
    }
}
