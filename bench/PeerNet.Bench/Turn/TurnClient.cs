using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Bench.Turn;

/// <summary>
/// The control plane of one benchmark allocation, done before the clock starts: Allocate (401 →
/// REALM/NONCE → long-term MESSAGE-INTEGRITY), CreatePermission and ChannelBind toward one echo
/// sink, over a UDP socket connected to the server. Blocking calls with a timeout and a few
/// retransmissions; the hot path (<see cref="LoadGenerator"/>) never comes here.
/// </summary>
internal sealed class TurnClient
{
    private delegate void Attributes(ref StunMessageWriter w);

    private readonly Socket _socket;
    private readonly string _user;
    private readonly string _password;
    private readonly byte[] _send = new byte[1500];
    private readonly byte[] _receive = new byte[1500];
    private string? _realm;
    private string? _nonce;
    private byte[]? _key;

    public TurnClient(Socket socket, string user, string password)
    {
        _socket = socket;
        _user = user;
        _password = password;
    }

    /// <summary>Allocates a UDP relay; returns the relayed transport address.</summary>
    public IPEndPoint Allocate()
    {
        int n = Transact(StunMethod.Allocate, static (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);   // UDP
            w.AddLifetime(600);
        });
        StunMessageReader.TryParse(_receive.AsSpan(0, n), out var r, out _);
        if (!r.TryGetXorRelayedAddress(out var relayed)) throw new InvalidOperationException("Allocate success without XOR-RELAYED-ADDRESS");
        return relayed.ToIPEndPoint();
    }

    public void CreatePermission(IPEndPoint peer)
    {
        var address = StunAddress.FromIPEndPoint(peer);
        Transact(StunMethod.CreatePermission, (ref StunMessageWriter w) => w.AddXorPeerAddress(address));
    }

    public void ChannelBind(ushort channel, IPEndPoint peer)
    {
        var address = StunAddress.FromIPEndPoint(peer);
        Transact(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
        {
            w.AddChannelNumber(channel);
            w.AddXorPeerAddress(address);
        });
    }

    /// <summary>Sends a request (authenticated once the server named its realm and nonce) until a
    /// success response with its transaction id arrives; returns that response's length in the receive buffer.</summary>
    private int Transact(StunMethod method, Attributes attributes)
    {
        string last = "no answer";
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var id = StunTransactionId.NewRandom();
            var w = new StunMessageWriter(_send, method, StunClass.Request, id);
            attributes(ref w);
            if (_key is not null)
            {
                w.AddUsername(_user);
                w.AddRealm(_realm!);
                w.AddNonce(_nonce!);
                w.AddMessageIntegrity(_key);
            }
            if (!w.TryGetMessage(out var message)) throw new InvalidOperationException("request did not fit");
            _socket.Send(message);

            var deadline = Environment.TickCount64 + 1000;
            while (Environment.TickCount64 < deadline)
            {
                int n;
                try { n = _socket.Receive(_receive); }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { break; }
                if (!StunMessageReader.TryParse(_receive.AsSpan(0, n), out var r, out _) || r.TransactionId != id) continue;
                if (r.Class == StunClass.SuccessResponse) return n;
                if (!r.TryGetErrorCode(out int code, out var reason)) throw new InvalidOperationException($"{method}: error response without ERROR-CODE");
                last = $"{code} {System.Text.Encoding.UTF8.GetString(reason)}";
                if (code is 401 or 438 && r.TryGetNonce(out var nonce) && r.TryGetRealm(out var realm))
                {
                    _nonce = System.Text.Encoding.UTF8.GetString(nonce);
                    string realmText = System.Text.Encoding.UTF8.GetString(realm);
                    if (_key is null || realmText != _realm) _key = StunCredentials.ComputeLongTermKey(_user, realmText, _password);
                    _realm = realmText;
                    break;   // retry with (fresh) credentials at once
                }
                throw new InvalidOperationException($"{method} refused: {last}");
            }
        }
        throw new InvalidOperationException($"{method}: no success after 8 attempts ({last})");
    }

    /// <summary>One unauthenticated Binding request; true when a success response came back in time.</summary>
    public static bool Probe(IPEndPoint server, TimeSpan timeout)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.Connect(server);
        s.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        Span<byte> buffer = stackalloc byte[256];
        var id = StunTransactionId.NewRandom();
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, id);
        w.AddSoftware("PeerNet.Bench probe");
        s.Send(w.Message);
        try
        {
            int n = s.Receive(buffer);
            return StunMessageReader.TryParse(buffer[..n], out var r, out _) && r.TransactionId == id && r.Class == StunClass.SuccessResponse;
        }
        catch (SocketException) { return false; }
    }
}
