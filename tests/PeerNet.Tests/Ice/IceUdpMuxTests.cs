using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PeerNet.Ice;
using PeerNet.Stun;

namespace PeerNet.Tests.Ice;

/// <summary>
/// <see cref="IceUdpMux"/> on real loopback sockets (127.0.0.1 / ::1): routing by ufrag, transaction id and
/// proven address; port reuse; hostile input; table caps; disposal; and IceTransports sharing one port.
/// </summary>
public sealed class IceUdpMuxTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const string PasswordA = "passwordAAAAAAAAAAAAAAAA";
    private const string PasswordB = "passwordBBBBBBBBBBBBBBBB";

    // ---- Binding and options ----

    [Fact]
    public async Task AnnouncesTheBoundAddressByDefault()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) });
        Assert.NotEqual(0, mux.LocalEndPoint.Port);
        var announced = Assert.Single(mux.AnnouncedEndPoints);
        Assert.Equal(mux.LocalEndPoint, announced);
    }

    [Fact]
    public async Task AWildcardBindAnnouncesWhatItIsTold()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Any, 0),
            AnnouncedAddresses = [IPAddress.Parse("203.0.113.7"), IPAddress.Loopback],
        });
        Assert.Equal(["203.0.113.7", "127.0.0.1"], mux.AnnouncedEndPoints.Select(e => e.Address.ToString()));
        Assert.All(mux.AnnouncedEndPoints, e => Assert.Equal(mux.LocalEndPoint.Port, e.Port));
    }

    [Theory]
    [InlineData("0.0.0.0", "")]
    [InlineData("::", "")]
    [InlineData("127.0.0.1", "0.0.0.0")]
    [InlineData("0.0.0.0", "0.0.0.0")]
    [InlineData("::1", "::")]
    [InlineData("127.0.0.1", "::1")]
    [InlineData("::1", "127.0.0.1")]
    public void RefusesToAnnounceNoAddressOrAWildcardOrTheOtherFamily(string bind, string announce)
    {
        var options = new IceUdpMuxOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Parse(bind), 0),
            AnnouncedAddresses = announce.Length == 0 ? [] : [IPAddress.Parse(announce)],
        };
        Assert.Throws<ArgumentException>(() => IceUdpMux.Bind(options));
    }

    [Fact]
    public void RefusesNoEndpoint() => Assert.Throws<ArgumentException>(() => IceUdpMux.Bind(new IceUdpMuxOptions()));

    // ---- Routing ----

    [Fact]
    public async Task BindingRequestsGoByUfragAndTheRestByTheProvenAddress()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        using var clientA = Client();
        using var clientB = Client();

        Send(clientA, mux, Request("ufragAAA:remote1", PasswordA));
        Send(clientB, mux, Request("ufragBBB:remote2", PasswordB));
        await a.WaitCountAsync(1);
        await b.WaitCountAsync(1);
        Assert.Equal(Local(clientA), a.Received.Single().From);
        Assert.Equal(Local(clientB), b.Received.Single().From);

        // DTLS (RFC 7983: first byte 20-63) from each client now reaches its own connection.
        Send(clientA, mux, Dtls(0xA1));
        Send(clientB, mux, Dtls(0xB2));
        await a.WaitCountAsync(2);
        await b.WaitCountAsync(2);
        Assert.Equal(0xA1, a.Received[1].Data[13]);
        Assert.Equal(0xB2, b.Received[1].Data[13]);
        Assert.Equal(2, mux.Statistics.RoutedByUfrag);
        Assert.Equal(2, mux.Statistics.RoutedByAddress);
        Assert.Equal([Local(clientA)], a.Connection.RemoteAddresses);
    }

    [Fact]
    public async Task WorksOnIPv6Loopback()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.IPv6Loopback, 0) });
        var a = new Collector(mux, "ufragAAA", PasswordA);
        using var client = Client(IPAddress.IPv6Loopback);
        Send(client, mux, Request("ufragAAA:remote1", PasswordA));
        Send(client, mux, Dtls(1));
        await a.WaitCountAsync(2);
        Assert.Equal(Local(client), a.Received[1].From);
    }

    [Fact]
    public async Task UnknownUfragAndUnknownAddressAreDroppedAndCounted()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        using var client = Client();
        Send(client, mux, Request("nobodyXX:remote1", PasswordA));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownUfrag) == 1);
        Send(client, mux, Dtls(1));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownAddress) == 1);
        Assert.Empty(a.Received);
        Assert.Equal(0, mux.RemoteAddressCount);
    }

    [Fact]
    public async Task ARequestThatFailsIntegrityIsHandedOnButClaimsNoAddress()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        using var client = Client();
        Send(client, mux, Request("ufragAAA:remote1", PasswordB)); // wrong key: the agent answers 401
        await a.WaitCountAsync(1);
        Assert.Equal(1, mux.Statistics.UnverifiedRequests);
        Send(client, mux, Dtls(1));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownAddress) == 1);
        Assert.Single(a.Received);

        // Its 401 goes back without claiming the address either.
        a.Connection.Send(ErrorResponse(), Local(client).Serialize());
        Assert.Equal(0, mux.RemoteAddressCount);
    }

    [Fact]
    public async Task ARegistrationWithoutPasswordClaimsOnAnyRequest()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", password: null);
        using var client = Client();
        Send(client, mux, Request("ufragAAA:remote1", "whateverwhateverwhatever"));
        Send(client, mux, Dtls(1));
        await a.WaitCountAsync(2);
    }

    [Fact]
    public async Task ResponsesGoToTheConnectionThatSentTheRequestEvenWhenSeveralTalkToOneAddress()
    {
        // Like a STUN server every connection asks, or a remote that muxes too.
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        using var server = Client();
        var idA = StunTransactionId.NewRandom();
        var idB = StunTransactionId.NewRandom();
        Assert.True(a.Connection.Send(Request("remote1:ufragAAA", PasswordA, idA), Local(server).Serialize()));
        Assert.True(b.Connection.Send(Request("remote1:ufragBBB", PasswordB, idB), Local(server).Serialize()));
        Assert.Equal(2, mux.TransactionCount);
        var (requestA, muxAddress) = Take(server);
        var (requestB, _) = Take(server);
        Assert.Equal(mux.LocalEndPoint, muxAddress);

        // Answer in the other order: each still reaches its sender.
        Send(server, mux, Response(TransactionOf(requestB)));
        Send(server, mux, Response(TransactionOf(requestA)));
        await a.WaitCountAsync(1);
        await b.WaitCountAsync(1);
        Assert.Equal(idA, TransactionOf(a.Received[0].Data));
        Assert.Equal(idB, TransactionOf(b.Received[0].Data));
        Assert.Equal(2, mux.Statistics.RoutedByTransaction);
    }

    [Fact]
    public async Task SendingClaimsAnUnprovenAddressSoItsDtlsComesBack()
    {
        // An ICE-lite remote never sends checks: its DTLS must reach the connection that checked it.
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        using var lite = Client();
        a.Connection.Send(Request("remote1:ufragAAA", PasswordA), Local(lite).Serialize());
        Send(lite, mux, Dtls(7));
        await a.WaitCountAsync(1);
        Assert.Equal(7, a.Received[0].Data[13]);
    }

    [Fact]
    public async Task AConnectionCannotTakeAnAddressAnotherOneProvedBySendingToIt()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        using var victim = Client();
        Send(victim, mux, Request("ufragAAA:remote1", PasswordA));
        await a.WaitCountAsync(1);

        // B's remote listed A's peer as a candidate: B checks it, but the address stays A's.
        b.Connection.Send(Request("remote9:ufragBBB", PasswordB), Local(victim).Serialize());
        Assert.Equal(1, mux.Statistics.AddressesRefused);
        Send(victim, mux, Dtls(1));
        await a.WaitCountAsync(2);
        Assert.Empty(b.Received);
    }

    [Fact]
    public async Task AReusedRemotePortMovesToTheConnectionItProvesItselfTo()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        using var remote = Client();

        Send(remote, mux, Request("ufragAAA:old", PasswordA));
        Send(remote, mux, Dtls(1));
        await a.WaitCountAsync(2);

        // The same remote address now belongs to a new session with B (the port was reused).
        Send(remote, mux, Request("ufragBBB:new", PasswordB));
        Send(remote, mux, Dtls(2));
        await b.WaitCountAsync(2);
        Assert.Equal(2, b.Received[1].Data[13]);
        Assert.Equal(1, mux.Statistics.AddressesMoved);
        Assert.Empty(a.Connection.RemoteAddresses);

        // A's own checks to that address still get their answers (by transaction id).
        var id = StunTransactionId.NewRandom();
        a.Connection.Send(Request("old:ufragAAA", PasswordA, id), Local(remote).Serialize());
        Assert.Equal(1, mux.Statistics.AddressesRefused); // B proved it: A's send does not take it back
        var (request, _) = Take(remote);
        Send(remote, mux, Response(TransactionOf(request)));
        await a.WaitCountAsync(3);
        Assert.Equal(id, TransactionOf(a.Received[2].Data));

        // Once B is gone, the address is free: A's next send claims it and DTLS flows to A again.
        await b.Connection.DisposeAsync();
        Send(remote, mux, Dtls(3));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownAddress) == 1);
        a.Connection.Send(Dtls(4), Local(remote).Serialize());
        Send(remote, mux, Dtls(5));
        await a.WaitCountAsync(4);
        Assert.Equal(5, a.Received[3].Data[13]);
    }

    [Fact]
    public async Task TwoRemotesOnOneHostAreTwoAddresses()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        using var first = Client();
        using var second = Client();
        Send(first, mux, Request("ufragAAA:r1", PasswordA));
        Send(second, mux, Request("ufragBBB:r2", PasswordB));
        await a.WaitCountAsync(1);
        await b.WaitCountAsync(1);
        for (var i = 0; i < 20; i++)
        {
            Send(i % 2 == 0 ? first : second, mux, Dtls((byte)i));
        }

        await a.WaitCountAsync(11);
        await b.WaitCountAsync(11);
        Assert.All(a.Received.Skip(1), r => Assert.Equal(0, r.Data[13] % 2));
        Assert.All(b.Received.Skip(1), r => Assert.Equal(1, r.Data[13] % 2));
    }

    [Fact]
    public async Task AConnectionHoldsSeveralUfragsAtOnce()
    {
        // An ICE restart: the new ufrag works while the old one still does, then the old one goes.
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragOLD", PasswordA);
        a.Connection.RegisterUfrag("ufragNEW", PasswordB);
        Assert.Equal(["ufragOLD", "ufragNEW"], a.Connection.Ufrags);
        using var client = Client();
        Send(client, mux, Request("ufragOLD:r", PasswordA));
        Send(client, mux, Request("ufragNEW:r", PasswordB));
        await a.WaitCountAsync(2);
        Assert.True(a.Connection.UnregisterUfrag("ufragOLD"));
        Assert.False(a.Connection.UnregisterUfrag("ufragOLD"));
        Send(client, mux, Request("ufragOLD:r", PasswordA));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownUfrag) == 1);
        Assert.Equal(1, mux.UfragCount);
    }

    [Fact]
    public async Task RegistrationRules()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxUfragsPerConnection = 2 });
        var a = mux.CreateConnection();
        var b = mux.CreateConnection();
        a.RegisterUfrag("ufrag1", PasswordA);
        a.RegisterUfrag("ufrag1", PasswordB); // again: new password
        Assert.Throws<InvalidOperationException>(() => b.RegisterUfrag("ufrag1"));
        Assert.Throws<ArgumentException>(() => a.RegisterUfrag("abc"));
        Assert.Throws<ArgumentException>(() => a.RegisterUfrag("bad:ufrag"));
        Assert.Throws<ArgumentException>(() => a.RegisterUfrag("ufrag2", "short"));
        a.RegisterUfrag("ufrag2");
        Assert.Throws<InvalidOperationException>(() => a.RegisterUfrag("ufrag3"));
        Assert.False(b.UnregisterUfrag("ufrag1"));
        await a.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => a.RegisterUfrag("ufrag4"));
        b.RegisterUfrag("ufrag1"); // free again
    }

    // ---- Bounded tables ----

    [Fact]
    public async Task AConnectionForgetsItsLeastRecentlySeenAddressBeyondItsCap()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxRemoteAddressesPerConnection = 4 });
        var a = new Collector(mux, "ufragAAA", PasswordA);
        for (var port = 1; port <= 100; port++)
        {
            a.Connection.Send(Dtls(1), new IPEndPoint(IPAddress.Loopback, 40000 + port).Serialize());
        }

        Assert.Equal(4, mux.RemoteAddressCount);
        Assert.Equal(96, mux.Statistics.AddressesEvicted);
        Assert.Equal(Enumerable.Range(97, 4).Select(p => 40000 + p).Order(), a.Connection.RemoteAddresses.Select(e => e.Port).Order());
    }

    [Fact]
    public async Task TheWholeAddressTableIsCapped()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxRemoteAddresses = 5 });
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        for (var port = 1; port <= 10; port++)
        {
            (port % 2 == 0 ? a : b).Connection.Send(Dtls(1), new IPEndPoint(IPAddress.Loopback, 40000 + port).Serialize());
        }

        Assert.Equal(5, mux.RemoteAddressCount);
        Assert.Equal(5, mux.Statistics.AddressesRefused);
    }

    [Fact]
    public async Task SprayedSourceAddressesDoNotGrowTheTables()
    {
        // Requests from thousands of addresses to a known ufrag without the password: routed, never learned.
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxRemoteAddressesPerConnection = 8 });
        var a = new Collector(mux, "ufragAAA", PasswordA, keep: false);
        var forged = Request("ufragAAA:attacker", PasswordB);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        for (var i = 0; i < 5000; i++)
        {
            StunAddress.IPv4((uint)(0x0A000000 + i), (ushort)(1024 + (i % 60000))).TryWriteTo(from);
            mux.Receive(forged, from);
        }

        Assert.Equal(0, mux.RemoteAddressCount);
        Assert.Equal(5000, mux.Statistics.UnverifiedRequests);

        // With the password (a legitimate remote with many candidates): capped per connection.
        var proven = Request("ufragAAA:remote", PasswordA);
        for (var i = 0; i < 5000; i++)
        {
            StunAddress.IPv4((uint)(0x0A000000 + i), 4000).TryWriteTo(from);
            mux.Receive(proven, from);
        }

        Assert.Equal(8, mux.RemoteAddressCount);
        Assert.Equal(10_000, a.Count);
    }

    [Fact]
    public async Task TransactionsAreRememberedPerConnectionUpToItsCap()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxTransactionsPerConnection = 3, MaxTransactions = 5 });
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        var target = new IPEndPoint(IPAddress.Loopback, 9).Serialize();
        var idsA = Enumerable.Range(0, 10).Select(_ => StunTransactionId.NewRandom()).ToList();
        foreach (var id in idsA)
        {
            a.Connection.Send(Request("r:ufragAAA", PasswordA, id), target);
            a.Connection.Send(Request("r:ufragAAA", PasswordA, id), target); // a retransmission is not a new one
        }

        Assert.Equal(3, mux.TransactionCount);
        for (var i = 0; i < 5; i++)
        {
            b.Connection.Send(Request("r:ufragBBB", PasswordB, StunTransactionId.NewRandom()), target);
        }

        Assert.Equal(5, mux.TransactionCount);
        Assert.Equal(3, mux.Statistics.TransactionsRefused);

        // The newest of A's still route by transaction id; a forgotten one falls back to the address.
        var from = new IPEndPoint(IPAddress.Loopback, 9).Serialize();
        mux.Receive(Response(idsA[^1]), from);
        mux.Receive(Response(idsA[0]), from);
        Assert.Equal(1, mux.Statistics.RoutedByTransaction);
        Assert.Equal(1, mux.Statistics.RoutedByAddress);
    }

    [Fact]
    public async Task DisposingAConnectionForgetsItsUfragsAddressesAndTransactions()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var b = new Collector(mux, "ufragBBB", PasswordB);
        a.Connection.RegisterUfrag("ufragAA2", PasswordA);
        using var client = Client();
        Send(client, mux, Request("ufragAAA:r", PasswordA));
        await a.WaitCountAsync(1);
        a.Connection.Send(Request("r:ufragAAA", PasswordA), new IPEndPoint(IPAddress.Loopback, 9).Serialize());
        b.Connection.Send(Dtls(1), new IPEndPoint(IPAddress.Loopback, 10).Serialize());
        Assert.Equal(3, mux.UfragCount);
        Assert.Equal(3, mux.RemoteAddressCount);
        Assert.Equal(2, mux.ConnectionCount);

        await a.Connection.DisposeAsync();
        Assert.Equal(1, mux.UfragCount);
        Assert.Equal(1, mux.RemoteAddressCount);
        Assert.Equal(0, mux.TransactionCount);
        Assert.Equal(1, mux.ConnectionCount);
        Assert.False(a.Connection.Send(Dtls(1), Local(client).Serialize()));
        Send(client, mux, Request("ufragAAA:r", PasswordA));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.UnknownUfrag) == 1);
        Assert.Single(a.Received);
    }

    // ---- Hostile input ----

    [Fact]
    public async Task HandMadeHostileDatagramsAreDroppedWithTheirReason()
    {
        await using var mux = Loopback();
        var a = new Collector(mux, "ufragAAA", PasswordA);
        var from = new IPEndPoint(IPAddress.Loopback, 5555).Serialize();
        var good = Request("ufragAAA:r", PasswordA);

        void Expect(IceUdpMuxDropReason reason, byte[] datagram)
        {
            var before = mux.Statistics.Dropped(reason);
            mux.Receive(datagram, from);
            Assert.Equal(before + 1, mux.Statistics.Dropped(reason));
        }

        Expect(IceUdpMuxDropReason.Malformed, []);
        Expect(IceUdpMuxDropReason.Malformed, good[..(good.Length - 3)]); // truncated
        var lying = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(lying.AsSpan(2), 0xFFFC); // length says far more than there is
        Expect(IceUdpMuxDropReason.Malformed, lying);
        var lyingAttribute = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(lyingAttribute.AsSpan(22), 0x0FFF); // USERNAME's length runs past the end
        Expect(IceUdpMuxDropReason.Malformed, lyingAttribute);
        Expect(IceUdpMuxDropReason.NoUsername, RawRequest(null));
        Expect(IceUdpMuxDropReason.UsernameWithoutColon, RawRequest("ufragAAAremote"u8.ToArray()));
        Expect(IceUdpMuxDropReason.InvalidUfrag, RawRequest(":remote"u8.ToArray()));
        Expect(IceUdpMuxDropReason.InvalidUfrag, RawRequest([0xFF, 0xFE, 0x80, (byte)':', (byte)'r']));
        Expect(IceUdpMuxDropReason.InvalidUfrag, RawRequest(Encoding.UTF8.GetBytes("üfrägAAA:r")));
        Expect(IceUdpMuxDropReason.InvalidUfrag, RawRequest(Encoding.ASCII.GetBytes(new string('u', 300) + ":r")));
        Expect(IceUdpMuxDropReason.Malformed, RawRequest(Encoding.ASCII.GetBytes(new string('u', 2000) + ":r"))); // USERNAME over 763 bytes
        Expect(IceUdpMuxDropReason.UnknownUfrag, RawRequest(Encoding.ASCII.GetBytes(new string('u', 256) + ":r")));
        Expect(IceUdpMuxDropReason.UnknownUfrag, RawRequest("ufr!gAAA:r"u8.ToArray()));
        Expect(IceUdpMuxDropReason.UnknownAddress, Dtls(1));
        Expect(IceUdpMuxDropReason.UnknownAddress, [0x00, 0x01, 0x00]); // too short for a STUN header
        Expect(IceUdpMuxDropReason.UnknownAddress, Response(StunTransactionId.NewRandom()));
        Expect(IceUdpMuxDropReason.UnknownAddress, [0xFF, 1, 2, 3]);
        var ipx = new SocketAddress(AddressFamily.Unix, 16);
        var malformed = mux.Statistics.Dropped(IceUdpMuxDropReason.Malformed);
        mux.Receive(good, ipx);
        Assert.Equal(malformed + 1, mux.Statistics.Dropped(IceUdpMuxDropReason.Malformed));

        // Good traffic still goes through.
        mux.Receive(good, from);
        mux.Receive(Dtls(9), from);
        Assert.Equal(2, a.Count);
    }

    [Fact]
    public async Task AThrowingHandlerIsCountedAndTheLoopGoesOn()
    {
        await using var mux = Loopback();
        var bad = mux.CreateConnection();
        bad.RegisterUfrag("ufragBAD", PasswordA);
        bad.Start((_, _, _) => throw new InvalidOperationException("boom"));
        var a = new Collector(mux, "ufragAAA", PasswordA);
        using var client = Client();
        Send(client, mux, Request("ufragBAD:r", PasswordA));
        Send(client, mux, Request("ufragAAA:r", PasswordA));
        await a.WaitCountAsync(1);
        Assert.Equal(1, mux.Statistics.Dropped(IceUdpMuxDropReason.HandlerFailed));

        // Not started yet: dropped as closed.
        var idle = mux.CreateConnection();
        idle.RegisterUfrag("ufragIDL", PasswordA);
        Send(client, mux, Request("ufragIDL:r", PasswordA));
        await WaitAsync(() => mux.Statistics.Dropped(IceUdpMuxDropReason.ConnectionClosed) == 1);
    }

    [Fact]
    public async Task ThousandsOfSeededMutationsNeverCrashAndGoodTrafficContinues()
    {
        await using var mux = IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), MaxRemoteAddressesPerConnection = 16 });
        var a = new Collector(mux, "ufragAAA", PasswordA, keep: false);
        var b = new Collector(mux, "ufragBBB", PasswordB, keep: false);
        var idA = StunTransactionId.NewRandom();
        a.Connection.Send(Request("r:ufragAAA", PasswordA, idA), new IPEndPoint(IPAddress.Loopback, 7).Serialize());
        byte[][] seeds =
        [
            Request("ufragAAA:remote1", PasswordA), Request("ufragBBB:remote2", PasswordB), Response(idA),
            ErrorResponse(), Dtls(1), RawRequest("ufragAAA:x"u8.ToArray()), RawRequest(null), [0x40, 0, 0, 4, 1, 2, 3, 4],
        ];
        var random = new Random(20240611);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        for (var i = 0; i < 20_000; i++)
        {
            var datagram = (byte[])seeds[random.Next(seeds.Length)].Clone();
            switch (random.Next(5))
            {
                case 0: // flip bytes
                    for (var n = random.Next(1, 6); n > 0 && datagram.Length > 0; n--)
                    {
                        datagram[random.Next(datagram.Length)] ^= (byte)random.Next(1, 256);
                    }

                    break;
                case 1: // truncate
                    datagram = datagram[..random.Next(datagram.Length + 1)];
                    break;
                case 2: // lie in a length field (header or an attribute)
                    if (datagram.Length >= 4)
                    {
                        var at = random.Next(2) == 0 ? 2 : Math.Min(datagram.Length - 2, 20 + (4 * random.Next(8)) + 2);
                        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(at), (ushort)random.Next(65536));
                    }

                    break;
                case 3: // append garbage
                    datagram = [.. datagram, .. Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256))];
                    break;
                default: // random bytes
                    datagram = new byte[random.Next(0, 200)];
                    random.NextBytes(datagram);
                    break;
            }

            StunAddress.IPv4(0x7F000001, (ushort)(1000 + random.Next(50))).TryWriteTo(from);
            mux.Receive(datagram, from);
        }

        Assert.True(mux.RemoteAddressCount <= 32);
        Assert.True(mux.Statistics.DroppedTotal > 0);

        // Good traffic after the storm, over the real socket.
        using var client = Client();
        var beforeA = a.Count;
        var beforeB = b.Count;
        Send(client, mux, Request("ufragAAA:remote1", PasswordA));
        Send(client, mux, Dtls(1));
        await WaitAsync(() => a.Count == beforeA + 2);
        using var other = Client();
        Send(other, mux, Request("ufragBBB:remote2", PasswordB));
        Send(other, mux, Dtls(2));
        await WaitAsync(() => b.Count == beforeB + 2);
    }

    // ---- Without allocating ----

    [Fact]
    public async Task RoutingAndSendingInTheSteadyStateDoNotAllocate()
    {
        await using var mux = Loopback();
        var connection = mux.CreateConnection();
        connection.RegisterUfrag("ufragAAA", PasswordA);
        long delivered = 0;
        connection.Start((_, datagram, _) => delivered += datagram.Length);
        var from = new IPEndPoint(IPAddress.Loopback, 5555).Serialize();
        var request = Request("ufragAAA:r", PasswordA);
        var dtls = Dtls(1);
        var unknownUfrag = Request("nobodyXX:r", PasswordA);
        for (var i = 0; i < 100; i++)
        {
            mux.Receive(request, from);
            mux.Receive(dtls, from);
            mux.Receive(unknownUfrag, from);
            connection.Send(dtls, from);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            mux.Receive(request, from);
            mux.Receive(dtls, from);
            mux.Receive(unknownUfrag, from);
            connection.Send(dtls, from);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(delivered > 0);
    }

    // ---- IceTransports on one port ----

    [Fact]
    public async Task ManyIceTransportsShareOnePortAndKeepTheirDataApart()
    {
        const int count = 8;
        await using var mux = Loopback();
        var servers = new List<IceTransport>();
        var clients = new List<IceTransport>();
        var received = new ConcurrentDictionary<int, ConcurrentQueue<byte[]>>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var server = new IceTransport(new IceTransportOptions { Agent = new IceAgentOptions { Role = IceRole.Controlled }, UdpMux = mux });
                var client = new IceTransport(new IceTransportOptions
                {
                    Agent = new IceAgentOptions { Role = IceRole.Controlling },
                    Gathering = new IceGatherOptions { Addresses = [IPAddress.Loopback] },
                });
                var index = i;
                var queue = received.GetOrAdd(index, _ => new ConcurrentQueue<byte[]>());
                server.DatagramReceived = d => queue.Enqueue(d.ToArray());
                servers.Add(server);
                clients.Add(client);
            }

            await Task.WhenAll(servers.Concat(clients).Select(t => t.GatherAsync()));
            for (var i = 0; i < count; i++)
            {
                var (server, client) = (servers[i], clients[i]);
                var candidate = Assert.Single(server.LocalCandidates);
                Assert.Equal(mux.LocalEndPoint.Port, candidate.Port);
                server.Start(client.LocalUfrag, client.LocalPassword);
                client.Start(server.LocalUfrag, server.LocalPassword);
                foreach (var c in client.LocalCandidates) await server.AddRemoteCandidateAsync(c);
                foreach (var c in server.LocalCandidates) await client.AddRemoteCandidateAsync(c);
                server.AddRemoteEndOfCandidates();
                client.AddRemoteEndOfCandidates();
            }

            await WaitAsync(() => servers.Concat(clients).All(t => t.ConnectionState is IceConnectionState.Connected or IceConnectionState.Completed));
            Assert.Equal(count, mux.ConnectionCount);
            for (var i = 0; i < count; i++)
            {
                Assert.True(clients[i].Send(Dtls((byte)i)));
            }

            await WaitAsync(() => received.Values.All(q => !q.IsEmpty));
            for (var i = 0; i < count; i++)
            {
                Assert.All(received[i], d => Assert.Equal(i, d[13]));
                // And back: the server's data reaches its own client.
                var back = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                clients[i].DatagramReceived = d => back.TrySetResult(d.ToArray());
                Assert.True(servers[i].Send(Dtls((byte)(100 + i))));
                Assert.Equal(100 + i, (await back.Task.WaitAsync(Timeout))[13]);
            }
        }
        finally
        {
            foreach (var t in servers.Concat(clients)) await t.DisposeAsync();
        }

        Assert.Equal(0, mux.ConnectionCount);
        Assert.Equal(0, mux.UfragCount);
        Assert.Equal(0, mux.RemoteAddressCount);
        Assert.Equal(0, mux.TransactionCount);
    }

    [Fact]
    public async Task ServerReflexiveGatheringWorksThroughTheMuxForManyTransportsAtOnce()
    {
        // A STUN server every transport asks at the same time from the same port: answers go back by transaction id.
        await using var mux = Loopback();
        using var stun = Client();
        using var stop = new CancellationTokenSource();
        var server = Task.Run(() =>
        {
            var buffer = new byte[1500];
            var reply = new byte[200];
            while (!stop.IsCancellationRequested)
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int length;
                try
                {
                    length = stun.ReceiveFrom(buffer, ref from);
                }
                catch (SocketException)
                {
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                if (!StunMessageReader.TryParse(buffer.AsSpan(0, length), out var request, out _))
                {
                    continue;
                }

                // A NAT that maps the mux's port to 198.51.100.9 (documentation range; nothing is sent there).
                var writer = new StunMessageWriter(reply, StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId);
                writer.AddXorMappedAddress(StunAddress.FromIPAddress(IPAddress.Parse("198.51.100.9"), (ushort)((IPEndPoint)from).Port));
                writer.AddFingerprint();
                stun.SendTo(writer.Message, from);
            }
        });
        var transports = Enumerable.Range(0, 6).Select(_ => new IceTransport(new IceTransportOptions
        {
            UdpMux = mux,
            IceServers = [IceServer.Parse($"stun:127.0.0.1:{Local(stun).Port}")],
            StunServerTimeout = TimeSpan.FromSeconds(5),
        })).ToList();
        try
        {
            await Task.WhenAll(transports.Select(t => t.GatherAsync())).WaitAsync(Timeout);
            foreach (var transport in transports)
            {
                var reflexive = Assert.Single(transport.LocalCandidates, c => c.Type == IceCandidateType.ServerReflexive);
                Assert.Equal("198.51.100.9", reflexive.Address);
                Assert.Equal(mux.LocalEndPoint.Port, reflexive.Port);
                Assert.Equal("127.0.0.1", reflexive.RelatedAddress);
            }

            Assert.True(mux.Statistics.RoutedByTransaction >= transports.Count);
        }
        finally
        {
            stop.Cancel();
            foreach (var t in transports) await t.DisposeAsync();
            stun.Close();
            await server.WaitAsync(Timeout);
        }
    }

    // ---- Helpers ----

    private static IceUdpMux Loopback() => IceUdpMux.Bind(new IceUdpMuxOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) });

    private static Socket Client(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
        return socket;
    }

    private static IPEndPoint Local(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;

    private static void Send(Socket socket, IceUdpMux mux, byte[] datagram) => socket.SendTo(datagram, mux.LocalEndPoint);

    private static (byte[] Data, IPEndPoint From) Take(Socket socket)
    {
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var length = socket.ReceiveFrom(buffer, ref from);
        return (buffer[..length], (IPEndPoint)from);
    }

    private static StunTransactionId TransactionOf(byte[] stun) => StunTransactionId.FromBytes(stun.AsSpan(8));

    private static byte[] Request(string username, string key, StunTransactionId? id = null)
    {
        var buffer = new byte[1200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, id ?? StunTransactionId.NewRandom());
        writer.AddUsername(username);
        writer.AddPriority(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535));
        writer.AddIceControlling(42);
        writer.AddMessageIntegrity(Encoding.ASCII.GetBytes(key));
        writer.AddFingerprint();
        Assert.True(writer.TryGetMessage(out var message));
        return message.ToArray();
    }

    /// <summary>A Binding request with these exact USERNAME bytes (or none), no integrity.</summary>
    private static byte[] RawRequest(byte[]? username)
    {
        var buffer = new byte[4096];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        if (username is not null)
        {
            Assert.True(writer.AddAttribute(StunAttributeType.Username, username));
        }

        writer.AddPriority(1);
        Assert.True(writer.TryGetMessage(out var message));
        return message.ToArray();
    }

    private static byte[] Response(StunTransactionId id)
    {
        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        writer.AddXorMappedAddress(StunAddress.IPv4(0x7F000001, 1234));
        writer.AddFingerprint();
        Assert.True(writer.TryGetMessage(out var message));
        return message.ToArray();
    }

    private static byte[] ErrorResponse()
    {
        var buffer = new byte[200];
        var writer = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.ErrorResponse, StunTransactionId.NewRandom());
        writer.AddErrorCode(StunErrorCode.Unauthenticated);
        Assert.True(writer.TryGetMessage(out var message));
        return message.ToArray();
    }

    /// <summary>A DTLS 1.2 record header (content type 22) with a marker byte at 13.</summary>
    private static byte[] Dtls(byte marker)
    {
        var record = new byte[24];
        record[0] = 22;
        record[1] = 0xFE;
        record[2] = 0xFD;
        record[13] = marker;
        return record;
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>A started connection that keeps what it receives.</summary>
    private sealed class Collector
    {
        private readonly bool _keep;
        private readonly List<(byte[] Data, IPEndPoint From)> _received = [];
        private int _count;

        public Collector(IceUdpMux mux, string ufrag, string? password, bool keep = true)
        {
            _keep = keep;
            Connection = mux.CreateConnection();
            Connection.RegisterUfrag(ufrag, password);
            Connection.Start((_, datagram, from) =>
            {
                if (_keep)
                {
                    lock (_received)
                    {
                        Assert.True(StunAddress.TryFromSocketAddress(from, out var address));
                        _received.Add((datagram.ToArray(), address.ToIPEndPoint()));
                    }
                }

                Interlocked.Increment(ref _count);
            });
        }

        public IceUdpMuxConnection Connection { get; }

        public int Count => Volatile.Read(ref _count);

        public List<(byte[] Data, IPEndPoint From)> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public Task WaitCountAsync(int count) => WaitAsync(() => Count >= count);
    }
}
