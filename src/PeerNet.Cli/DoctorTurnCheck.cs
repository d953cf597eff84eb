using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using PeerNet.Ice;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Cli;

/// <summary>
/// The doctor's TURN check against one server URL: authentication and an allocation (the relayed
/// address), then a relayed round trip between two allocations on that server — data sent through
/// one relay to the other's relayed address and echoed back. The round trip needs the server to
/// relay to its own relayed addresses; when its peer policy refuses (403), that is said, not failed.
/// </summary>
internal static class DoctorTurnCheck
{
    private const int Pings = 3;

    /// <summary>What the TURN check found.</summary>
    public sealed record Outcome(IceServer Server, bool Allocated, bool? RoundTrip, string? Problem);

    public static async Task<Outcome> RunAsync(IceServer server, RemoteCertificateValidationCallback? tlsValidation, TimeSpan timeout,
        DoctorReport report, CancellationToken cancellationToken)
    {
        var step = $"TURN {server}";
        var remote = await DoctorAddresses.ResolveAsync(server, step, report, cancellationToken).ConfigureAwait(false);
        if (remote is null) return new Outcome(server, false, null, "DNS");

        var clock = Stopwatch.StartNew();
        RelayProbe first;
        try
        {
            first = await RelayProbe.AllocateAsync(server, remote, tlsValidation, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TurnClientException or SocketException or AuthenticationException or IOException)
        {
            var (message, hint) = Explain(e, remote, server);
            report.Add(new DoctorCheck(step, DoctorStatus.Fail, message, clock.Elapsed.TotalMilliseconds) { Hint = hint });
            return new Outcome(server, false, null, message);
        }

        await using (first.ConfigureAwait(false))
        {
            var allocated = clock.Elapsed.TotalMilliseconds;
            report.Add(new DoctorCheck(step, DoctorStatus.Pass,
                $"authenticated as {server.Username}; relayed address {first.RelayedAddress} (seen from {first.MappedAddress}, lifetime {first.Relay.LifetimeSeconds} s)", allocated)
            {
                Data = new Dictionary<string, string>
                {
                    ["server"] = remote.ToString(),
                    ["relayed"] = first.RelayedAddress.ToString(),
                    ["mapped"] = first.MappedAddress.ToString(),
                },
            });
            var roundTrip = await RoundTripAsync(server, remote, first, tlsValidation, timeout, report, cancellationToken).ConfigureAwait(false);
            return new Outcome(server, true, roundTrip, null);
        }
    }

    // Two allocations on one server, each permitting the other's relayed address; pings go out of the
    // first relay to the second, which echoes them back.
    private static async Task<bool?> RoundTripAsync(IceServer server, IPEndPoint remote, RelayProbe first, RemoteCertificateValidationCallback? tlsValidation,
        TimeSpan timeout, DoctorReport report, CancellationToken cancellationToken)
    {
        var step = $"TURN {server} round trip";
        var clock = Stopwatch.StartNew();
        RelayProbe second;
        try
        {
            second = await RelayProbe.AllocateAsync(server, remote, tlsValidation, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TurnClientException or SocketException or AuthenticationException or IOException)
        {
            report.Add(new DoctorCheck(step, DoctorStatus.Warn, $"not tried: a second allocation failed ({Explain(e, remote, server).Message})", clock.Elapsed.TotalMilliseconds)
            {
                Hint = "the server may limit allocations per user",
            });
            return null;
        }

        await using (second.ConfigureAwait(false))
        {
            try
            {
                using var permissionDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                permissionDeadline.CancelAfter(timeout);
                await Task.WhenAll(first.Relay.CreatePermissionAsync(second.RelayedAddress), second.Relay.CreatePermissionAsync(first.RelayedAddress))
                    .WaitAsync(permissionDeadline.Token).ConfigureAwait(false);
            }
            catch (TurnClientException e) when (e.Failure.Code == 403)
            {
                report.Add(new DoctorCheck(step, DoctorStatus.Warn,
                    $"not tried: the server refuses to relay to its own relayed addresses ({second.RelayedAddress}: 403 {e.Failure.Reason}), its peer policy", clock.Elapsed.TotalMilliseconds)
                {
                    Hint = IsPrivate(second.RelayedAddress)
                        ? "its relayed addresses are private or loopback, which TURN servers refuse as peers by default (peernet: --allow-peer); peers on public addresses can still be relayed"
                        : "the allocation works; whether peers are relayed depends on that policy",
                });
                return null;
            }
            catch (TurnClientException e)
            {
                report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"CreatePermission failed: {e.Failure}", clock.Elapsed.TotalMilliseconds));
                return false;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"CreatePermission not answered within {timeout.TotalSeconds:0.#} s", clock.Elapsed.TotalMilliseconds));
                return false;
            }

            using var echo = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var echoLoop = EchoAsync(second, first.RelayedAddress, echo.Token);
            try
            {
                var rtts = new List<double>(Pings);
                var nonce = Random.Shared.Next();
                var deadline = Stopwatch.StartNew();
                for (var seq = 0; seq < Pings && deadline.Elapsed < timeout; seq++)
                {
                    var payload = Encoding.ASCII.GetBytes($"peernet doctor {nonce} {seq}");
                    if (await PingAsync(first, second.RelayedAddress, payload, timeout - deadline.Elapsed, cancellationToken).ConfigureAwait(false) is { } rtt)
                    {
                        rtts.Add(rtt);
                    }
                }

                if (rtts.Count == 0)
                {
                    report.Add(new DoctorCheck(step, DoctorStatus.Fail,
                        $"nothing came back through the relay within {timeout.TotalSeconds:0.#} s ({first.RelayedAddress} ⇄ {second.RelayedAddress})", clock.Elapsed.TotalMilliseconds)
                    {
                        Hint = "the server accepted the allocations and permissions but relayed no data: a firewall may block its relay ports",
                    });
                    return false;
                }

                var min = rtts.Min();
                var avg = rtts.Average();
                report.Add(new DoctorCheck(step, DoctorStatus.Pass,
                    $"{rtts.Count} of {Pings} echoed through {first.RelayedAddress} ⇄ {second.RelayedAddress}: rtt min {DoctorReport.Format(min)} / avg {DoctorReport.Format(avg)}",
                    clock.Elapsed.TotalMilliseconds)
                {
                    Data = new Dictionary<string, string>
                    {
                        ["rttMinMs"] = min.ToString("F2", CultureInfo.InvariantCulture),
                        ["rttAvgMs"] = avg.ToString("F2", CultureInfo.InvariantCulture),
                        ["echoed"] = rtts.Count.ToString(CultureInfo.InvariantCulture),
                    },
                });
                return true;
            }
            finally
            {
                await echo.CancelAsync().ConfigureAwait(false);
                await echoLoop.ConfigureAwait(false);
            }
        }
    }

    // Sends one ping, repeating it every 500 ms (the relay is UDP), until it comes back or time runs out.
    private static async Task<double?> PingAsync(RelayProbe from, StunAddress to, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var sent = clock.Elapsed;
        from.Send(to, payload);
        while (clock.Elapsed < timeout)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromMilliseconds(Math.Min(500, Math.Max(1, (timeout - clock.Elapsed).TotalMilliseconds))));
            try
            {
                while (true)
                {
                    var (peer, data) = await from.Received.ReadAsync(wait.Token).ConfigureAwait(false);
                    if (peer == to && data.AsSpan().SequenceEqual(payload))
                    {
                        return (clock.Elapsed - sent).TotalMilliseconds;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                sent = clock.Elapsed;
                from.Send(to, payload);
            }
            catch (System.Threading.Channels.ChannelClosedException)
            {
                return null;
            }
        }

        return null;
    }

    private static async Task EchoAsync(RelayProbe relay, StunAddress expected, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var (peer, data) = await relay.Received.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (peer == expected) relay.Send(peer, data);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
        }
    }

    private static (string Message, string? Hint) Explain(Exception e, IPEndPoint remote, IceServer server) => e switch
    {
        TurnClientException { Failure.Code: 401 } => ("TURN credentials rejected (401 Unauthorized)",
            "the username or password is wrong, or a time-limited credential has expired; the hub hands out fresh ones in its welcome"),
        TurnClientException { Failure.Code: 437 or 486 } t => ($"allocation refused: {t.Failure.Code} {t.Failure.Reason}", "the server limits allocations per user; wait for old ones to expire"),
        TurnClientException { Failure.Code: 508 } t => ($"allocation refused: 508 {t.Failure.Reason}", "the server has no relay ports left"),
        TurnClientException { Failure.Code: 300 } t => ($"the server redirects to {t.Failure.AlternateServer} (300 Try Alternate)", "use that server's URL"),
        TurnClientException { Failure.Code: 0 } t => ($"no answer from {remote} over {server.Transport} ({t.Failure.Reason})",
            server.Transport == IceServerTransport.Udp ? $"a firewall may block UDP to port {remote.Port}" : $"a firewall may block TCP to port {remote.Port}"),
        TurnClientException t => ($"allocation failed: {t.Failure.Code} {t.Failure.Reason}", null),
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => ($"connection refused: nothing listens on {remote} over TCP", "is TURN over TCP/TLS enabled on that port?"),
        SocketException s => ($"cannot connect to {remote}: {s.Message}", null),
        AuthenticationException a => ($"TLS to {remote} failed: {a.Message}", "an untrusted certificate: --insecure or --hub-sha256 apply to turns: servers too"),
        _ => ($"{remote}: {e.Message}", null),
    };

    private static bool IsPrivate(StunAddress address)
    {
        var ip = address.ToIPAddress();
        if (IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal || ip.IsIPv6UniqueLocal) return true;
        if (ip.AddressFamily != AddressFamily.InterNetwork) return false;
        var b = ip.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xC0) == 64);
    }

    /// <summary>A TURN allocation (<see cref="RelayIceSocket"/>, as ICE uses it) with what peers send through it queued for the checks.</summary>
    private sealed class RelayProbe : IAsyncDisposable
    {
        private readonly System.Threading.Channels.Channel<(StunAddress Peer, byte[] Data)> _received =
            System.Threading.Channels.Channel.CreateBounded<(StunAddress, byte[])>(
                new System.Threading.Channels.BoundedChannelOptions(64) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest });

        private RelayProbe(RelayIceSocket relay)
        {
            Relay = relay;
            RelayedAddress = StunAddress.FromIPEndPoint(relay.LocalEndPoint);
            MappedAddress = StunAddress.FromIPEndPoint(relay.MappedEndPoint);
            relay.Start((_, datagram, from) =>
            {
                if (StunAddress.TryFromSocketAddress(from, out var peer)) _received.Writer.TryWrite((peer, datagram.ToArray()));
            });
        }

        public RelayIceSocket Relay { get; }

        public StunAddress RelayedAddress { get; }

        public StunAddress MappedAddress { get; }

        public System.Threading.Channels.ChannelReader<(StunAddress Peer, byte[] Data)> Received => _received.Reader;

        public static async Task<RelayProbe> AllocateAsync(IceServer server, IPEndPoint remote, RemoteCertificateValidationCallback? tlsValidation,
            TimeSpan timeout, CancellationToken cancellationToken)
        {
            var any = remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var relay = await RelayIceSocket.AllocateAsync(remote, any, server.Transport, server.Username ?? "", server.Credential ?? "", timeout,
                server.Host, null, tlsValidation, cancellationToken).ConfigureAwait(false);
            return new RelayProbe(relay);
        }

        public bool Send(StunAddress peer, ReadOnlySpan<byte> data)
        {
            var address = peer.Family == StunAddressFamily.IPv6 ? new SocketAddress(AddressFamily.InterNetworkV6) : new SocketAddress(AddressFamily.InterNetwork);
            return peer.TryWriteTo(address) && Relay.Send(data, address);
        }

        public async ValueTask DisposeAsync()
        {
            await Relay.DisposeAsync().ConfigureAwait(false);
            _received.Writer.TryComplete();
        }
    }
}
