using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// Asks a STUN server, from a given socket, which address it saw (RFC 8489 Binding, retransmitted
/// every 250 ms until the timeout) — so a test can compare the mappings one socket gets
/// towards different destinations.
/// </summary>
internal static class StunBindingProbe
{
    public static async Task<IPEndPoint> MappedAddressAsync(Socket socket, IPEndPoint server, TimeSpan timeout)
    {
        var transaction = StunTransactionId.NewRandom();
        var request = new byte[64];
        var writer = new StunMessageWriter(request, StunMethod.Binding, StunClass.Request, transaction);
        var length = writer.Length;
        var buffer = new byte[1500];
        using var overall = new CancellationTokenSource(timeout);
        while (true)
        {
            await socket.SendToAsync(request.AsMemory(0, length), server, overall.Token);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(overall.Token);
            attempt.CancelAfter(250);
            try
            {
                while (true)
                {
                    var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), attempt.Token);
                    if (TryReadMapped(buffer.AsSpan(0, received.ReceivedBytes), transaction, out var mapped)) return mapped;
                }
            }
            catch (OperationCanceledException) when (!overall.IsCancellationRequested)
            {
                // retransmit
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no Binding response from {server} within {timeout.TotalSeconds:0.#} s");
            }
        }
    }

    private static bool TryReadMapped(ReadOnlySpan<byte> bytes, StunTransactionId transaction, out IPEndPoint mapped)
    {
        mapped = null!;
        if (!StunMessageReader.TryParse(bytes, out var reader, out _)) return false;
        if (reader.Method != StunMethod.Binding || reader.Class != StunClass.SuccessResponse || reader.TransactionId != transaction) return false;
        if (!reader.TryGetXorMappedAddress(out var address)) return false;
        mapped = address.ToIPEndPoint();
        return true;
    }
}
