using System.Runtime.InteropServices;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// Hands the datagrams a <see cref="TurnUdpEventLoop"/> receives to the host's
/// <see cref="TurnServer"/>, a whole receive burst under one hold of the host's lock, and queues what
/// comes out on the batch: responses and relayed data to clients from the listener, relayed data to
/// peers from the allocation's relay socket. Relayed payloads are sent from where they were received.
/// </summary>
internal sealed class TurnUdpDispatcher : ITurnUdpHandler
{
    private readonly TurnServerHost _host;
    private readonly int _maxRelayed;

    public TurnUdpDispatcher(TurnServerHost host)
    {
        _host = host;
        _maxRelayed = host.Options.MaxRelayedDatagramSize;
    }

    public void HandleDatagrams(TurnUdpRegistration source, TurnDatagramBatch batch, int first, int count)
    {
        switch (source.Owner)
        {
            case TurnUdpListener listener:
                FromClients(listener, batch, first, count);
                break;
            case TurnRelaySocket relay:
                FromPeers(relay, batch, first, count);
                break;
        }
    }

    public void HandleSendFailure(object? context, in StunAddress destination, int error)
    {
        // Only sends toward peers are reported (a client that went away is no news).
        if (context is TurnRelaySocket relay)
        {
            var message = Marshal.GetPInvokeErrorMessage(error);
            lock (_host.Gate)
            {
                _host.Server.ReportRelaySendFailure(relay.Address, destination, message);
            }
        }
    }

    public void HandleLoopError(Exception exception, string where) => _host.LogUnexpected(exception, where);

    private void FromClients(TurnUdpListener listener, TurnDatagramBatch batch, int first, int count)
    {
        var now = _host.Now;
        lock (_host.Gate)
        {
            var server = _host.Server;
            for (var i = first; i < first + count; i++)
            {
                if (!batch.TryGetSource(i, out var remote))
                {
                    continue;
                }

                var client = new TurnClientEndpoint(TurnTransport.Udp, listener.Id, listener.Local, remote, listener);
                var message = batch.GetDatagram(i);
                var response = batch.GetResponse(i);
                var output = server.HandleClientMessage(client, message, response, now);
                switch (output.Kind)
                {
                    case TurnOutputKind.ToClient:
                        // From this socket or, for an RFC 5780 CHANGE-REQUEST, from the listener on the
                        // requested address; to the sender or, for RESPONSE-PORT, another of its ports.
                        var from = output.Source.Family == StunAddressFamily.None ? listener : _host.FindUdpListener(output.Source) ?? listener;
                        batch.QueueSend(from.Handle, response.Slice(output.Offset, output.Length), output.Client.Remote, null);
                        break;
                    case TurnOutputKind.ToPeer when output.Relay is TurnRelaySocket relay:
                        batch.QueueSend(relay.Handle, message.Slice(output.Offset, output.Length), output.Peer, relay);
                        break;
                }
            }
        }
    }

    private void FromPeers(TurnRelaySocket relay, TurnDatagramBatch batch, int first, int count)
    {
        var now = _host.Now;
        lock (_host.Gate)
        {
            var server = _host.Server;
            for (var i = first; i < first + count; i++)
            {
                var length = batch.Length(i);
                if (length > _maxRelayed || batch.IsTruncated(i) || !batch.TryGetSource(i, out var peer))
                {
                    continue; // larger than relayed datagrams may be
                }

                var slot = batch.GetSlot(i);
                var output = server.HandlePeerData(relay.Address, peer, slot, batch.DataOffset(i), length, now);
                if (output.Kind != TurnOutputKind.ToClient)
                {
                    continue;
                }

                switch (output.Client.Handle)
                {
                    case TurnUdpListener listener:
                        batch.QueueSend(listener.Handle, slot.Slice(output.Offset, output.Length), output.Client.Remote, null);
                        break;
                    case TurnStreamConnection connection:
                        connection.TryEnqueue(slot.Slice(output.Offset, output.Length)); // dropped when the client does not read: like UDP
                        break;
                }
            }
        }
    }
}
