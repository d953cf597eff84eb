using PeerNet.Sharing;
using PeerNet.Sharing.Wire;

namespace PeerNet.Tests.Sharing.Wire;

/// <summary>Runs alone: tests running in parallel share ArrayPool.Shared and can empty its per-core stacks under us.</summary>
[CollectionDefinition(nameof(ShareWireAllocationTests), DisableParallelization = true)]
public class ShareWireAllocationCollection
{
}

[Collection(nameof(ShareWireAllocationTests))]
public class ShareWireAllocationTests
{
    [Fact]
    public void SteadyStateTransferDoesNotAllocatePerMessage()
    {
        var content = TestContent.Create(30, 64, 40_000);
        var proofs = Enumerable.Range(0, content.PieceCount).Select(content.Proof).ToArray();
        var up = WireHarness.Seeder(content);
        var down = new ShareWireSession(content.ContentId);
        down.SetInfo(content.Info, new ComparingVerifier(content), new PieceBitfield(content.PieceCount));
        down.Start();
        var buffer = new byte[ShareWireLimits.MaxMessageLength];
        long received = 0;
        long messages = 0;

        void Pump()
        {
            var moved = true;
            while (moved)
            {
                moved = false;
                int n;
                while ((n = up.PollTransmit(buffer)) > 0)
                {
                    down.HandleMessage(buffer.AsSpan(0, n), 0);
                    messages++;
                    moved = true;
                }

                while ((n = down.PollTransmit(buffer)) > 0)
                {
                    up.HandleMessage(buffer.AsSpan(0, n), 0);
                    messages++;
                    moved = true;
                }

                while (up.TryPollEvent(out var e))
                {
                    if (e.Kind == ShareWireEventKind.PieceNeeded)
                    {
                        up.ProvidePiece(e.Piece, content.Pieces[e.Piece], proofs[e.Piece]);
                        moved = true;
                    }
                }

                while (down.TryPollEvent(out var e))
                {
                    if (e.Kind == ShareWireEventKind.PieceReceived)
                    {
                        received += e.Length;
                        e.ReturnData();
                    }
                }
            }
        }

        void Round()
        {
            for (var p = 0; p < content.PieceCount; p++)
            {
                down.Request(p, 0);
                if (p % 8 == 7)
                {
                    Pump();
                }
            }

            Pump();
        }

        Pump();
        up.Unchoke();
        Pump();
        Round(); // warm up: pools, queues and dictionaries reach their size
        Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var messagesBefore = messages;
        for (var i = 0; i < 5; i++)
        {
            Round();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var count = messages - messagesBefore;
        Assert.Equal(7L * content.PieceCount * 40_000, received);
        Assert.True(allocated < count * 8, $"{allocated} bytes for {count} messages");
    }

    /// <summary>Checks pieces by comparing bytes: the Merkle verifier allocates its hashes, which would hide the session's own allocations.</summary>
    private sealed class ComparingVerifier(TestContent content) : IPieceVerifier
    {
        public int PieceCount => content.PieceCount;

        public int GetSealedPieceLength(int piece) => content.Pieces[piece].Length;

        public bool VerifyPiece(int piece, ReadOnlySpan<byte> sealedPiece, ReadOnlySpan<byte> proofHashes) => sealedPiece.SequenceEqual(content.Pieces[piece]);
    }
}
