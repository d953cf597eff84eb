using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// One UDP socket clients send to. On Linux a <see cref="TurnUdpEventLoop"/> serves it (see
/// <see cref="TurnServerHost"/>); elsewhere it has its own asynchronous receive loop.
/// </summary>
internal sealed class TurnUdpListener : IDisposable
{
    // The largest UDP payload; client datagrams are read whole.
    internal const int BufferLength = 65536;

    private const int SocketBufferSize = 4 << 20;

    private readonly TurnServerHost _host;

    public TurnUdpListener(TurnServerHost host, long id, Socket socket)
    {
        _host = host;
        Id = id;
        Socket = socket;
        Handle = socket.SafeHandle;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        Local = StunAddress.FromIPEndPoint(EndPoint);
    }

    public long Id { get; }

    public Socket Socket { get; }

    /// <summary>The socket's handle, for the batched sends of <see cref="TurnDatagramBatch"/>.</summary>
    public SafeSocketHandle Handle { get; }

    public IPEndPoint EndPoint { get; }

    public StunAddress Local { get; }

    public Task? Loop { get; private set; }

    public static Socket Bind(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false; // one socket per family: list [::] and 0.0.0.0 both to get both
            }

            // Room for bursts (the kernel caps this at net.core.rmem_max / wmem_max).
            socket.ReceiveBufferSize = SocketBufferSize;
            socket.SendBufferSize = SocketBufferSize;
            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts receiving: on <paramref name="loop"/> when given, else with an asynchronous loop of its own.</summary>
    public void Start(TurnUdpEventLoop? loop)
    {
        if (loop is null)
        {
            Loop = Task.Run(ReceiveLoopAsync);
            return;
        }

        loop.Add(Socket, this, 0, BufferLength);
        Loop = loop.Completion;
    }

    public void Dispose() => Socket.Dispose();

    public override string ToString() => $"udp {EndPoint}";

    private async Task ReceiveLoopAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(BufferLength, pinned: true);
        var response = GC.AllocateUninitializedArray<byte>(TurnServer.ResponseBufferLength, pinned: true);
        var from = new SocketAddress(Socket.AddressFamily);
        var to = new TurnSocketAddresses();
        while (!_host.Stopping)
        {
            int received;
            try
            {
                received = await Socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
            }
            catch (SocketException e) when (TurnServerHost.IsTransient(e))
            {
                continue;
            }
            catch (Exception) when (_host.Stopping)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                // Unexpected: say so (a bounded number of times) and keep serving, without spinning.
                _host.LogUnexpected(e, "UDP receive");
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            if (!StunAddress.TryFromSocketAddress(from, out var remote))
            {
                continue;
            }

            try
            {
                var client = new TurnClientEndpoint(TurnTransport.Udp, Id, Local, remote, this);
                TurnOutput output;
                lock (_host.Gate)
                {
                    output = _host.Server.HandleClientMessage(client, buffer.AsSpan(0, received), response, _host.Now);
                }

                switch (output.Kind)
                {
                    case TurnOutputKind.ToClient:
                        // The answer goes back to the address in `from`, from this socket or, for an RFC
                        // 5780 CHANGE-REQUEST, from the listener on the requested address.
                        // RESPONSE-PORT may also redirect it to another port of the client.
                        var socket = output.Source.Family == StunAddressFamily.None ? Socket : _host.FindUdpSocket(output.Source) ?? Socket;
                        var destination = output.Client.Remote == remote ? from : to.Get(output.Client.Remote);
                        if (destination is not null)
                        {
                            await TurnServerHost.SendDatagramAsync(socket, response.AsMemory(output.Offset, output.Length), destination).ConfigureAwait(false);
                        }

                        break;
                    case TurnOutputKind.ToPeer:
                        await _host.SendToPeerAsync(output, buffer.AsMemory(output.Offset, output.Length), to).ConfigureAwait(false);
                        break;
                }
            }
            catch (Exception e)
            {
                _host.LogUnexpected(e, "UDP client message");
            }
        }
    }

}
