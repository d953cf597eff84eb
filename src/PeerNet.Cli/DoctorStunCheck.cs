using System.Net;
using System.Net.Sockets;
using PeerNet.Ice;
using PeerNet.Stun;
using PeerNet.Stun.NatBehavior;

namespace PeerNet.Cli;

/// <summary>
/// The doctor's STUN check against one server: the public address seen from a fresh UDP socket,
/// whether a NAT is in the way, and — when the server offers RFC 5780 — the NAT's mapping and
/// filtering behaviour (<see cref="NatBehaviorDiscovery"/>, driven here over a real socket).
/// </summary>
internal static class DoctorStunCheck
{
    public static async Task<NatBehaviorResult?> RunAsync(IceServer server, TimeSpan timeout, DoctorReport report, CancellationToken cancellationToken)
    {
        var step = $"STUN {server.Host}:{server.Port}";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var remote = await DoctorAddresses.ResolveAsync(server, step, report, cancellationToken).ConfigureAwait(false);
        if (remote is null) return null;

        IPAddress localAddress;
        try
        {
            localAddress = DoctorAddresses.LocalAddressTowards(remote);
        }
        catch (SocketException e)
        {
            report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"no route to {remote}: {e.Message}", clock.Elapsed.TotalMilliseconds)
            {
                Hint = "check your network connection",
            });
            return null;
        }

        using var socket = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(localAddress, 0));
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var discovery = new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions
        {
            Server = StunAddress.FromIPEndPoint(remote),
            LocalAddress = StunAddress.FromIPEndPoint(local),
            TestTimeout = TimeSpan.FromMilliseconds(Math.Min(3000, timeout.TotalMilliseconds)),
            TotalTimeout = timeout,
        });
        await DriveAsync(discovery, socket, cancellationToken).ConfigureAwait(false);
        var result = discovery.Result;
        var data = new Dictionary<string, string>
        {
            ["server"] = remote.ToString(),
            ["local"] = local.ToString(),
        };
        switch (result.Status)
        {
            case NatBehaviorStatus.NoResponse:
                report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"no answer from {remote} over UDP within {timeout.TotalSeconds:0.#} s", result.ElapsedMilliseconds)
                {
                    Hint = $"a firewall may block UDP to port {remote.Port}; without UDP only TURN over TCP/TLS can connect you",
                    Data = data,
                });
                return result;
            case NatBehaviorStatus.ServerError:
                report.Add(new DoctorCheck(step, DoctorStatus.Fail, $"{remote} answered the Binding request with error {result.ErrorCode}", result.ElapsedMilliseconds) { Data = data });
                return result;
        }

        double firstAnswer = result.ElapsedMilliseconds;
        while (discovery.TryPollEvent(out var e))
        {
            if (e.Test == NatBehaviorTest.Primary) firstAnswer = e.ElapsedMilliseconds;
        }

        data["public"] = result.MappedAddress.ToString();
        var nat = result.IsBehindNat switch
        {
            true => "behind a NAT",
            false => "no NAT (your address is public as it is)",
            _ => "NAT unknown",
        };
        data["nat"] = result.IsBehindNat switch { true => "yes", false => "no", _ => "unknown" };
        report.Add(new DoctorCheck(step, DoctorStatus.Pass, $"local {local}, public {result.MappedAddress}: {nat}", firstAnswer) { Data = data });

        var behavior = new Dictionary<string, string>
        {
            ["mapping"] = Token(result.Mapping),
            ["filtering"] = Token(result.Filtering),
        };
        if (result.Status == NatBehaviorStatus.NotSupported)
        {
            report.Add(new DoctorCheck("NAT behaviour", DoctorStatus.Info,
                $"{remote} does not offer RFC 5780 discovery ({result.Note}): mapping and filtering cannot be told from this server", result.ElapsedMilliseconds)
            {
                Hint = "a PeerNet hub offers RFC 5780 when given a second IP address: Turn:AlternateAddress / --alternate-address",
                Data = behavior,
            });
            return result;
        }

        behavior["otherAddress"] = result.OtherAddress.ToString();
        var status = result.Mapping switch
        {
            NatMappingBehavior.EndpointIndependent => DoctorStatus.Pass,
            _ => DoctorStatus.Warn,
        };
        var symmetric = result.Mapping is NatMappingBehavior.AddressDependent or NatMappingBehavior.AddressAndPortDependent ? " (a symmetric NAT)" : "";
        var note = result.Note is null ? "" : $"; {result.Note}";
        report.Add(new DoctorCheck("NAT behaviour", status,
            $"mapping {Words(result.Mapping)}{symmetric}, filtering {Words(result.Filtering)} (RFC 5780 with {result.OtherAddress}){note}", result.ElapsedMilliseconds)
        {
            Data = behavior,
        });
        return result;
    }

    /// <summary>RFC 4787's terms as words.</summary>
    public static string Words(NatMappingBehavior mapping) => mapping switch
    {
        NatMappingBehavior.EndpointIndependent => "endpoint-independent",
        NatMappingBehavior.AddressDependent => "address-dependent",
        NatMappingBehavior.AddressAndPortDependent => "address-and-port-dependent",
        NatMappingBehavior.NotSupported => "not supported by the server",
        _ => "unknown",
    };

    /// <summary>RFC 4787's terms as words.</summary>
    public static string Words(NatFilteringBehavior filtering) => filtering switch
    {
        NatFilteringBehavior.EndpointIndependent => "endpoint-independent",
        NatFilteringBehavior.AddressDependent => "address-dependent",
        NatFilteringBehavior.AddressAndPortDependent => "address-and-port-dependent",
        NatFilteringBehavior.NotSupported => "not supported by the server",
        _ => "unknown",
    };

    private static string Token<T>(T value) where T : Enum => value.ToString() switch
    {
        "EndpointIndependent" => "endpoint-independent",
        "AddressDependent" => "address-dependent",
        "AddressAndPortDependent" => "address-and-port-dependent",
        "NotSupported" => "not-supported",
        _ => "unknown",
    };

    /// <summary>Runs the discovery over <paramref name="socket"/> with the real clock until it ends.</summary>
    private static async Task DriveAsync(NatBehaviorDiscovery discovery, Socket socket, CancellationToken cancellationToken)
    {
        var send = new byte[NatBehaviorDiscovery.MaxRequestLength];
        var receive = new byte[2048];
        discovery.Start(Environment.TickCount64);
        Task<SocketReceiveFromResult>? pending = null;
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (!discovery.IsComplete)
            {
                int length;
                while ((length = discovery.PollTransmit(send, out var destination)) > 0)
                {
                    try
                    {
                        await socket.SendToAsync(send.AsMemory(0, length), SocketFlags.None, destination.ToIPEndPoint(), cancellationToken).ConfigureAwait(false);
                    }
                    catch (SocketException)
                    {
                        // Unreachable right now: the retransmission tries again, the test's time bounds it.
                    }
                }

                var deadline = discovery.PollTimeout() ?? Environment.TickCount64;
                var wait = Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
                pending ??= socket.ReceiveFromAsync(receive, SocketFlags.None, any, stop.Token).AsTask();
                var delay = Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
                if (await Task.WhenAny(pending, delay).ConfigureAwait(false) == pending)
                {
                    SocketReceiveFromResult received;
                    try
                    {
                        received = await pending.ConfigureAwait(false);
                    }
                    catch (SocketException)
                    {
                        pending = null;
                        continue; // an ICMP error surfaced on the socket: not an answer
                    }

                    pending = null;
                    discovery.HandleResponse(receive.AsSpan(0, received.ReceivedBytes), StunAddress.FromIPEndPoint((IPEndPoint)received.RemoteEndPoint), Environment.TickCount64);
                }
                else
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    discovery.HandleTimeout(Environment.TickCount64);
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (pending is not null)
            {
                try
                {
                    await pending.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
