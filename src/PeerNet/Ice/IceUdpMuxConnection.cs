using System.Buffers.Binary;
using System.Net;
using PeerNet.Stun;

namespace PeerNet.Ice;

/// <summary>
/// One ICE connection's view of an <see cref="IceUdpMux"/>: an <see cref="IIceSocket"/> that receives what
/// the mux routes to it (Binding requests for its ufrags, responses to its requests, datagrams from the
/// addresses it owns) and sends through the shared socket. Disposing it removes its ufrags and addresses.
/// </summary>
public sealed class IceUdpMuxConnection : IIceSocket
{
    private readonly IceUdpMux _mux;
    private readonly StunTransactionId[] _transactions;
    private IceSocketReceiveHandler? _handler;
    private volatile SentTo? _lastSent;
    private int _transactionCount;
    private int _transactionNext;
    private volatile bool _disposed;

    internal IceUdpMuxConnection(IceUdpMux mux)
    {
        _mux = mux;
        _transactions = new StunTransactionId[mux.MaxTransactionsPerConnection];
    }

    /// <summary>The mux this view belongs to.</summary>
    public IceUdpMux Mux => _mux;

    /// <summary>The mux's bound endpoint (the base of every host candidate on it).</summary>
    public IPEndPoint LocalEndPoint => _mux.LocalEndPoint;

    /// <summary>The ufrags routed to this connection.</summary>
    public IReadOnlyList<string> Ufrags => _mux.GetUfrags(this);

    /// <summary>The remote addresses this connection owns (diagnostics).</summary>
    public IReadOnlyList<IPEndPoint> RemoteAddresses => _mux.GetRemoteAddresses(this);

    // The mux's tables, touched only under its lock.
    internal List<string> UfragList { get; } = [];

    internal List<StunAddress> AddressList { get; } = [];

    internal bool IsDisposed => _disposed;

    internal ReadOnlySpan<StunTransactionId> Transactions => _transactions.AsSpan(0, _transactionCount);

    /// <summary>
    /// Routes Binding requests whose USERNAME starts with "<paramref name="ufrag"/>:" to this connection. With
    /// <paramref name="password"/> (the local ice-pwd), a request's source address becomes this connection's
    /// only when its MESSAGE-INTEGRITY verifies; without, any request to the ufrag claims its source. An ICE
    /// restart registers the new ufrag while the old one still works, then unregisters the old one.
    /// Registering a ufrag again replaces its password.
    /// </summary>
    /// <exception cref="ArgumentException">Not a valid ufrag or password (RFC 8839 §5.4).</exception>
    /// <exception cref="InvalidOperationException">Another connection has it, or this one holds <see cref="IceUdpMuxOptions.MaxUfragsPerConnection"/>.</exception>
    public void RegisterUfrag(string ufrag, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(ufrag);
        _mux.RegisterUfrag(this, ufrag, password);
    }

    /// <summary>Stops routing <paramref name="ufrag"/> here; false when this connection did not have it.</summary>
    public bool UnregisterUfrag(string ufrag)
    {
        ArgumentNullException.ThrowIfNull(ufrag);
        return _mux.UnregisterUfrag(this, ufrag);
    }

    /// <inheritdoc/>
    public void Start(IceSocketReceiveHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException("Already started.");
        }
    }

    /// <summary>
    /// Sends through the mux's socket without blocking. The destination becomes this connection's unless
    /// another connection proved it; a STUN request is remembered so its response comes back here.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (_disposed)
        {
            return false;
        }

        if (datagram.Length >= StunMessage.HeaderLength && datagram[0] <= 3)
        {
            var messageClass = StunMessageType.GetClass(BinaryPrimitives.ReadUInt16BigEndian(datagram));
            if (messageClass == StunClass.Request)
            {
                _mux.RememberTransaction(this, StunTransactionId.FromBytes(datagram.Slice(8, StunTransactionId.Length)));
            }

            // An error response (e.g. 401 to a request that failed integrity) goes to whoever asked: no claim.
            if (messageClass != StunClass.ErrorResponse)
            {
                Claim(remote);
            }
        }
        else
        {
            Claim(remote);
        }

        return _mux.SendTo(datagram, remote);
    }

    /// <summary>Unregisters the ufrags and forgets the addresses and transactions of this connection.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _mux.Remove(this);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{_mux} connection";

    internal bool Deliver(ReadOnlySpan<byte> datagram, SocketAddress from, out Exception? failure)
    {
        failure = null;
        var handler = _handler;
        if (handler is null || _disposed)
        {
            return false;
        }

        try
        {
            handler(this, datagram, from);
            return true;
        }
        catch (Exception e)
        {
            failure = e;
            return false;
        }
    }

    /// <summary>Adds <paramref name="id"/> to the ring (under the mux's lock); true with the id it pushed out when full.</summary>
    internal bool PushTransaction(StunTransactionId id, out StunTransactionId forgotten)
    {
        forgotten = default;
        if (_transactions.Length == 0)
        {
            return false;
        }

        var full = _transactionCount == _transactions.Length;
        if (full)
        {
            forgotten = _transactions[_transactionNext];
        }
        else
        {
            _transactionCount++;
        }

        _transactions[_transactionNext] = id;
        _transactionNext = (_transactionNext + 1) % _transactions.Length;
        return full;
    }

    internal void ClearTransactions()
    {
        _transactionCount = 0;
        _transactionNext = 0;
    }

    private void Claim(SocketAddress remote)
    {
        if (!StunAddress.TryFromSocketAddress(remote, out var address))
        {
            return;
        }

        // Steady state (one destination, no table change since) costs no lock and no allocation.
        var last = _lastSent;
        if (last is not null && last.Generation == _mux.AddressGeneration && last.Address == address)
        {
            return;
        }

        var generation = _mux.LearnFromSend(this, address);
        _lastSent = new SentTo(address, generation);
    }

    private sealed record SentTo(StunAddress Address, int Generation);
}
