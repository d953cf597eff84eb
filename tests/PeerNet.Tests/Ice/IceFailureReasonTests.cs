using PeerNet.Ice;
using static PeerNet.Ice.IceCandidateType;

namespace PeerNet.Tests.Ice;

public sealed class IceFailureReasonTests
{
    [Fact]
    public void NoRelayAnywhereWithReflexiveCandidatesSaysTurnIsNeeded()
    {
        var text = IceFailureReason.Describe([Host, ServerReflexive, Host], [ServerReflexive, Host]);
        Assert.StartsWith("no candidate pair worked: local candidates host, srflx; remote host, srflx; no relay candidates on either side (we have no TURN server)", text);
        Assert.Contains("both peers seem to be behind NATs that need a TURN server", text);
        Assert.Contains("--ice-server turn:", text);
    }

    [Fact]
    public void NoServerCandidatesAtAllStillPointsAtTurn()
    {
        var text = IceFailureReason.Describe([Host], [Host]);
        Assert.Contains("no relay candidates on either side", text);
        Assert.Contains("neither STUN nor TURN candidates; a TURN server is needed", text);
    }

    [Fact]
    public void AFailedAllocationIsNamed()
    {
        var text = IceFailureReason.Describe([Host, ServerReflexive], [Host, ServerReflexive], turnServers: 1, relayFailures: 2);
        Assert.Contains("(our TURN allocation failed (2 of them))", text);
        Assert.Contains("need a TURN server", text);
    }

    [Theory]
    [InlineData(true, false, "even the relayed path (our side) got no answer")]
    [InlineData(false, true, "even the relayed path (the remote side) got no answer")]
    [InlineData(true, true, "even the relayed path (both sides) got no answer")]
    public void RelayCandidatesThatFailedBlameTheRelay(bool localRelay, bool remoteRelay, string expected)
    {
        IceCandidateType[] local = localRelay ? [Host, Relay] : [Host];
        IceCandidateType[] remote = remoteRelay ? [Host, ServerReflexive, Relay] : [Host];
        var text = IceFailureReason.Describe(local, remote, turnServers: 1);
        Assert.Contains(expected, text);
        Assert.DoesNotContain("no relay candidates", text);
        Assert.Contains("allowed peer ranges", text);
    }

    [Fact]
    public void NoRemoteCandidatesPointsAtSignaling()
    {
        var text = IceFailureReason.Describe([Host, ServerReflexive], []);
        Assert.Contains("remote none", text);
        Assert.Contains("no remote candidates arrived", text);
        Assert.DoesNotContain("TURN", text);
    }

    [Fact]
    public void RelayPolicyWithoutAllocationSaysSo()
    {
        var text = IceFailureReason.Describe([], [Host, ServerReflexive], turnServers: 1, relayFailures: 1, relayOnly: true);
        Assert.Contains("local candidates none", text);
        Assert.Contains("the relay policy uses TURN candidates only, and our TURN allocation failed (1 of them)", text);
    }

    [Fact]
    public void NoLocalCandidatesWithoutRelayPolicy()
    {
        Assert.Contains("no local address could be used", IceFailureReason.Describe([], [Host]));
    }

    [Fact]
    public void PeerReflexiveIsListedInOrder()
    {
        var text = IceFailureReason.Describe([ServerReflexive, Host], [PeerReflexive, Host, ServerReflexive]);
        Assert.Contains("local candidates host, srflx; remote host, srflx, prflx;", text);
    }
}
