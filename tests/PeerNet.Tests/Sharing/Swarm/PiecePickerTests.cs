using PeerNet.Sharing;
using PeerNet.Sharing.Swarm;
using PeerNet.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Swarm;

public class PiecePickerTests
{
    private static PieceBitfield All(int count)
    {
        var b = new PieceBitfield(count);
        b.SetAll();
        return b;
    }

    private static PieceBitfield Of(int count, params int[] pieces)
    {
        var b = new PieceBitfield(count);
        foreach (var p in pieces)
        {
            b.Set(p);
        }

        return b;
    }

    [Fact]
    public void PicksTheRarestPieceThePeerHas()
    {
        var picker = new PiecePicker(10, new Random(1));
        for (var p = 0; p < 10; p++)
        {
            for (var k = 0; k < (p == 7 ? 1 : p == 3 ? 2 : 3); k++)
            {
                picker.AddAvailability(p);
            }
        }

        Assert.Equal(7, picker.PickWanted(All(10)));
        Assert.Equal(3, picker.PickWanted(Of(10, 0, 3, 9)));
        Assert.Contains(picker.PickWanted(Of(10, 0, 9)), new[] { 0, 9 });
        Assert.Equal(-1, picker.PickWanted(new PieceBitfield(10)));

        // Skipped pieces (e.g. the peer rejected them) are passed over.
        Assert.Equal(3, picker.PickWanted(All(10), p => p == 7));
    }

    [Fact]
    public void TiesGoAtRandomButDeterministicallyForASeed()
    {
        int[] Picks(int seed)
        {
            var picker = new PiecePicker(50, new Random(seed));
            for (var p = 0; p < 50; p++)
            {
                picker.AddAvailability(p);
            }

            return Enumerable.Range(0, 20).Select(_ => picker.PickWanted(All(50))).ToArray();
        }

        Assert.Equal(Picks(5), Picks(5));
        Assert.True(Picks(5).Distinct().Count() > 10);
        Assert.NotEqual(Picks(5), Picks(6));
    }

    [Fact]
    public void ThePriorityWindowGoesFirstInOrder()
    {
        var picker = new PiecePicker(20, new Random(2));
        for (var p = 0; p < 20; p++)
        {
            picker.AddAvailability(p);
            if (p != 0)
            {
                picker.AddAvailability(p);
            }
        }

        picker.SetPriorityWindow(10, 3);
        var peer = All(20);
        Assert.Equal(10, picker.PickWanted(peer));
        picker.AddRequest(10);
        Assert.Equal(11, picker.PickWanted(Of(20, 0, 11, 12)));
        picker.AddRequest(11);
        picker.AddRequest(12);
        Assert.Equal(0, picker.PickWanted(peer)); // the window is all in flight: rarest first again
        picker.SetPriorityWindow(18, 10); // clipped to the end
        Assert.Equal((18, 2), picker.PriorityWindow);
    }

    [Fact]
    public void RequestsVerificationAndEndgame()
    {
        var picker = new PiecePicker(4, new Random(3));
        for (var p = 0; p < 4; p++)
        {
            picker.AddAvailability(p);
        }

        Assert.False(picker.IsEndgame);
        for (var p = 0; p < 4; p++)
        {
            picker.AddRequest(p);
        }

        Assert.Equal((0, 4), (picker.WantedCount, picker.InFlightCount));
        Assert.True(picker.IsEndgame);
        Assert.Equal(-1, picker.PickWanted(All(4)));

        // Endgame: an in-flight piece not already requested here, fewest copies first, at most maxCopies.
        picker.AddRequest(1);
        var requestedHere = new HashSet<int> { 0 };
        var pick = picker.PickEndgame(All(4), requestedHere.Contains, maxCopies: 2);
        Assert.Contains(pick, new[] { 2, 3 });
        Assert.Equal(-1, picker.PickEndgame(Of(4, 0, 1), requestedHere.Contains, maxCopies: 2));

        // A failed request makes the piece wanted again only when no copy is left.
        var version = picker.WantedVersion;
        picker.RemoveRequest(1);
        Assert.Equal(PieceState.InFlight, picker.GetState(1));
        picker.RemoveRequest(1);
        Assert.Equal(PieceState.Wanted, picker.GetState(1));
        Assert.Equal(version + 1, picker.WantedVersion);
        Assert.False(picker.IsEndgame);

        picker.MarkVerified(2);
        Assert.Equal(PieceState.Storing, picker.GetState(2));
        picker.MarkStoreFailed(2);
        Assert.Equal(PieceState.Wanted, picker.GetState(2));
        picker.AddRequest(2);
        picker.MarkVerified(2);
        picker.MarkHave(2);
        Assert.Equal(3, picker.MissingCount);
        Assert.Throws<InvalidOperationException>(() => picker.AddRequest(2));

        // Pieces found on disk go straight to Have from any state.
        picker.MarkHave(0);
        picker.MarkHave(1);
        picker.MarkHave(3);
        Assert.Equal((0, 0, 0), (picker.MissingCount, picker.WantedCount, picker.InFlightCount));
    }

    [Fact]
    public void AvailabilityFollowsPeersComingAndGoing()
    {
        var picker = new PiecePicker(3, new Random(4));
        picker.AddAvailability(1);
        Assert.Equal(1, picker.PickWanted(All(3)));
        picker.RemoveAvailability(1);
        Assert.Equal(-1, picker.PickWanted(All(3))); // nobody has anything
        Assert.Throws<InvalidOperationException>(() => picker.RemoveAvailability(1));
        picker.AddRequest(2); // availability of in-flight pieces still counts
        picker.AddAvailability(2);
        picker.RemoveRequest(2);
        Assert.Equal(2, picker.PickWanted(All(3)));
        Assert.Equal(1, picker.GetAvailability(2));
    }
}
