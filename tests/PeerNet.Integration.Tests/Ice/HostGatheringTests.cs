using System.Net;
using PeerNet.Ice;

namespace PeerNet.Integration.Tests.Ice;

/// <summary>Interface enumeration in the loopback-only namespace: loopback is used because nothing else exists.</summary>
public class HostGatheringTests
{
    [Fact]
    public void Falls_back_to_loopback_when_it_is_the_only_interface()
    {
        AioicePeer.AssertLoopbackOnly();
        var addresses = HostCandidateGatherer.GetHostAddresses(new IceGatherOptions()).Select(a => a.Address).ToList();
        Assert.Contains(IPAddress.Loopback, addresses);
        Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a)));

        var ipv4Only = HostCandidateGatherer.GetHostAddresses(new IceGatherOptions { IncludeIPv6 = false });
        Assert.Equal(IPAddress.Loopback, Assert.Single(ipv4Only).Address);
        Assert.Empty(HostCandidateGatherer.GetHostAddresses(new IceGatherOptions { IncludeIPv4 = false, IncludeIPv6 = false }));
    }

    [Fact]
    public async Task Gathers_one_candidate_per_address_and_ends()
    {
        AioicePeer.AssertLoopbackOnly();
        await using var transport = new IceTransport();
        var gathered = new List<IceCandidate>();
        var states = new List<IceGatheringState>();
        transport.CandidateGathered += gathered.Add;
        transport.GatheringStateChanged += states.Add;
        await transport.GatherAsync();
        Assert.NotEmpty(gathered);
        Assert.Equal(gathered.Count, gathered.Select(c => c.Address).Distinct().Count());
        Assert.Equal([IceGatheringState.Gathering, IceGatheringState.Complete], states);
        Assert.All(gathered, c => Assert.Equal(IceCandidateType.Host, c.Type));
        await Assert.ThrowsAsync<InvalidOperationException>(() => transport.GatherAsync());
    }
}
