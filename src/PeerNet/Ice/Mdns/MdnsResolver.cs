using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PeerNet.Ice.Mdns;

/// <summary>
/// Resolves "*.local" names to an address with multicast DNS one-shot queries (RFC 6762 §5.1) — the
/// host names Chromium puts in ICE candidates to hide local addresses. Queries go to 224.0.0.251:5353
/// and [ff02::fb]:5353 from each configured interface, with the unicast-response bit; answers are taken
/// from the query sockets and, optionally, from a listener on the mDNS port (for responders that
/// answer to the group). A small cache keeps answers for their TTL.
/// </summary>
public sealed class MdnsResolver : IAsyncDisposable
{
    /// <summary>The IPv4 mDNS group.</summary>
    public static readonly IPAddress IPv4Group = IPAddress.Parse("224.0.0.251");

    /// <summary>The IPv6 link-local mDNS group.</summary>
    public static readonly IPAddress IPv6Group = IPAddress.Parse("ff02::fb");

    private readonly MdnsResolverOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CacheEntry> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, TaskCompletionSource<IPAddress>> _pending = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _disposed = new();
    private bool _started;

    /// <summary>Creates a resolver; sockets are opened on the first query.</summary>
    public MdnsResolver(MdnsResolverOptions? options = null, ILogger? logger = null)
    {
        _options = options ?? new MdnsResolverOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Answers that could not be parsed (counted, otherwise ignored).</summary>
    public long MalformedAnswers { get; private set; }

    /// <summary>Whether <paramref name="name"/> is a name this resolver handles (ends in ".local").</summary>
    public static bool IsMdnsName(string name) =>
        name is not null && name.EndsWith(".local", StringComparison.OrdinalIgnoreCase) && name.Length > ".local".Length;

    /// <summary>
    /// The address of <paramref name="name"/>, or null when no answer came within the timeout.
    /// Concurrent queries for one name share one query.
    /// </summary>
    /// <exception cref="ArgumentException">Not a ".local" name or not a valid DNS name.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<IPAddress?> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!IsMdnsName(name))
        {
            throw new ArgumentException("Only .local names are resolved with mDNS.", nameof(name));
        }

        var query = new byte[512];
        var length = DnsMessage.WriteQuery(query, name, [DnsRecordType.A, DnsRecordType.Aaaa], unicastResponse: true);
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);

        TaskCompletionSource<IPAddress> pending;
        bool first;
        lock (_lock)
        {
            if (_cache.TryGetValue(name, out var cached))
            {
                if (cached.ExpiresAt > Environment.TickCount64)
                {
                    return cached.Address;
                }

                _cache.Remove(name);
            }

            EnsureStarted();
            first = !_pending.TryGetValue(name, out var existing);
            pending = existing ?? new TaskCompletionSource<IPAddress>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (first)
            {
                _pending[name] = pending;
            }
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        try
        {
            var deadline = Environment.TickCount64 + (long)_options.Timeout.TotalMilliseconds;
            while (true)
            {
                if (first)
                {
                    SendQuery(query.AsSpan(0, length));
                }

                var remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    return null;
                }

                var wait = Math.Min(remaining, (long)_options.RetryAfter.TotalMilliseconds);
                var delay = Task.Delay(TimeSpan.FromMilliseconds(wait), linked.Token);
                if (await Task.WhenAny(pending.Task, delay).ConfigureAwait(false) == pending.Task)
                {
                    // Cancelled means the query that this one joined gave up: no answer.
                    return pending.Task.IsCompletedSuccessfully ? pending.Task.Result : null;
                }

                linked.Token.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            if (first)
            {
                lock (_lock)
                {
                    _pending.Remove(name);
                }

                pending.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    /// <summary>Handles one received datagram (public for tests that feed bytes directly): A/AAAA answers complete queries and fill the cache.</summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram)
    {
        if (!DnsMessage.TryParse(datagram, out var message))
        {
            MalformedAnswers++;
            return;
        }

        if (!message!.IsResponse)
        {
            return; // queries, including our own looped back
        }

        foreach (var record in message.Answers.Concat(message.Additionals))
        {
            if (!record.TryGetAddress(out var address))
            {
                continue;
            }

            TaskCompletionSource<IPAddress>? waiter;
            lock (_lock)
            {
                // Only names we asked about are cached: unsolicited answers cannot fill the cache.
                if (!_pending.Remove(record.Name, out waiter) && !_cache.ContainsKey(record.Name))
                {
                    continue;
                }

                var ttl = Math.Min(record.TimeToLive * 1000L, (long)_options.MaxCacheTime.TotalMilliseconds);
                if (ttl > 0)
                {
                    if (_cache.Count >= _options.MaxCacheEntries && !_cache.ContainsKey(record.Name))
                    {
                        var oldest = _cache.MinBy(e => e.Value.ExpiresAt).Key;
                        _cache.Remove(oldest);
                    }

                    _cache[record.Name] = new CacheEntry(address, Environment.TickCount64 + ttl);
                }
            }

            waiter?.TrySetResult(address);
        }
    }

    /// <summary>Closes the sockets; pending queries end with <see cref="OperationCanceledException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _disposed.Dispose();
    }

    private void EnsureStarted()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var interfaces = _options.InterfaceAddresses.Count > 0 ? _options.InterfaceAddresses : [IPAddress.Any];
        foreach (var family in interfaces.Select(a => a.AddressFamily).Distinct())
        {
            // One query socket per family on an ephemeral port: unicast answers come back to it.
            var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
                if (family == AddressFamily.InterNetwork)
                {
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
                }
                else
                {
                    socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
                }

                _sockets.Add(socket);
                _loops.Add(ReceiveLoopAsync(socket));
            }
            catch (SocketException e)
            {
                socket.Dispose();
                IceLog.BindFailed(_logger, $"mDNS query socket ({family})", e.Message);
            }

            if (_options.ListenOnMulticastPort)
            {
                TryListenOnGroup(family, interfaces.Where(a => a.AddressFamily == family).ToList());
            }
        }
    }

    private void TryListenOnGroup(AddressFamily family, List<IPAddress> interfaces)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, _options.Port));
            foreach (var local in interfaces)
            {
                try
                {
                    if (family == AddressFamily.InterNetwork)
                    {
                        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
                            local.Equals(IPAddress.Any) ? new MulticastOption(IPv4Group) : new MulticastOption(IPv4Group, local));
                    }
                    else
                    {
                        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(IPv6Group, local.ScopeId));
                    }
                }
                catch (SocketException e)
                {
                    IceLog.BindFailed(_logger, $"mDNS group on {local}", e.Message);
                }
            }

            _sockets.Add(socket);
            _loops.Add(ReceiveLoopAsync(socket));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            IceLog.BindFailed(_logger, $"mDNS port {_options.Port} ({family})", e.Message);
        }
    }

    private void SendQuery(ReadOnlySpan<byte> query)
    {
        var interfaces = _options.InterfaceAddresses.Count > 0 ? _options.InterfaceAddresses : [IPAddress.Any];
        lock (_lock)
        {
            foreach (var local in interfaces)
            {
                var socket = _sockets.FirstOrDefault(s => s.AddressFamily == local.AddressFamily);
                if (socket is null)
                {
                    continue;
                }

                try
                {
                    // The interface for this query (RFC 6762 §15: per interface).
                    if (local.AddressFamily == AddressFamily.InterNetwork)
                    {
                        if (!local.Equals(IPAddress.Any))
                        {
                            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, local.GetAddressBytes());
                        }

                        socket.SendTo(query, SocketFlags.None, new IPEndPoint(_options.IPv4Destination, _options.Port));
                    }
                    else
                    {
                        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, (int)local.ScopeId);
                        socket.SendTo(query, SocketFlags.None, new IPEndPoint(new IPAddress(_options.IPv6Destination.GetAddressBytes(), local.ScopeId), _options.Port));
                    }
                }
                catch (SocketException e)
                {
                    IceLog.SocketError(_logger, $"mDNS query from {local}", e.Message);
                }
            }
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(9000);
        var from = new SocketAddress(socket.AddressFamily);
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _disposed.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    continue;
                }

                HandleDatagram(buffer.AsSpan(0, received));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private readonly record struct CacheEntry(IPAddress Address, long ExpiresAt);
}
