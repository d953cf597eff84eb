using System.Text;
using System.Text.Json;
using PeerNet.Hub.Signaling;
using PeerNet.Rtc;

namespace PeerNet.Tests.Signaling;

public class SignalingServerTests
{
    [Fact]
    public void Welcome_gives_unguessable_url_safe_ids_and_the_ice_servers()
    {
        var h = new SignalingHarness(ice: [new RtcIceServer { Urls = ["stun:127.0.0.1:3478"] }]);
        var ids = new HashSet<string>();
        for (var i = 0; i < 1000; i++)
        {
            var p = h.Connect();
            Assert.Equal("welcome", p.Welcome.GetProperty("type").GetString());
            Assert.Equal(1, p.Welcome.GetProperty("version").GetInt32());
            Assert.False(p.Welcome.GetProperty("resumed").GetBoolean());
            Assert.Matches("^[A-Za-z0-9_-]{22}$", p.Id); // 16 random bytes = 128 bits, base64url
            Assert.Matches("^[A-Za-z0-9_-]{43}$", p.ResumeToken);
            Assert.True(ids.Add(p.Id));
            Assert.Equal("stun:127.0.0.1:3478", p.Welcome.GetProperty("iceServers")[0].GetProperty("urls")[0].GetString());
            Assert.Equal(65536, p.Welcome.GetProperty("limits").GetProperty("maxMessageBytes").GetInt32());
        }
    }

    [Fact]
    public void Join_lists_the_others_and_tells_them()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var b = h.Connect();
        a.Send("""{"type":"join","room":"lobby","ref":1}""");
        var joined = a.Single("joined");
        Assert.Equal("lobby", joined.GetProperty("room").GetString());
        Assert.Equal(0, joined.GetProperty("peers").GetArrayLength());
        Assert.Equal(1, joined.GetProperty("ref").GetInt32());

        b.Send("""{"type":"join","room":"lobby"}""");
        Assert.Equal([a.Id], b.Single("joined").GetProperty("peers").EnumerateArray().Select(e => e.GetString()));
        var notice = a.Single("peer-joined");
        Assert.Equal(b.Id, notice.GetProperty("id").GetString());
        Assert.Equal("lobby", notice.GetProperty("room").GetString());

        // Joining again answers again and tells nobody.
        b.Send("""{"type":"join","room":"lobby"}""");
        Assert.Equal([a.Id], b.Single("joined").GetProperty("peers").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(a.Drain());
        Assert.Equal(1, h.Server.RoomCount);
    }

    [Fact]
    public void Leave_and_disconnect_tell_the_others()
    {
        var h = new SignalingHarness(new SignalingOptions { ResumeGrace = TimeSpan.Zero });
        var a = h.Connect();
        var b = h.Connect();
        var c = h.Connect();
        foreach (var p in new[] { a, b, c }) p.Send("""{"type":"join","room":"r"}""");
        foreach (var p in new[] { a, b, c }) p.Drain();

        a.Send("""{"type":"leave","room":"r","ref":"x"}""");
        Assert.Equal("x", a.Single("left").GetProperty("ref").GetString());
        Assert.Equal(a.Id, b.Single("peer-left").GetProperty("id").GetString());
        Assert.Equal(a.Id, c.Single("peer-left").GetProperty("id").GetString());

        b.Disconnect();
        Assert.Equal(b.Id, c.Single("peer-left").GetProperty("id").GetString());
        c.Disconnect();
        Assert.Equal(0, h.Server.RoomCount);
        Assert.Equal(1, h.Server.PeerCount);
    }

    [Fact]
    public void Signal_reaches_the_target_alone_with_from_stamped_by_the_server()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var b = h.Connect();
        var c = h.Connect();
        const string data = """{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n","x":[1,2.5,null,true,"\u00e9\ud83d\ude00"]}""";
        a.Send($$"""{"type":"signal","to":"{{b.Id}}","from":"{{c.Id}}","data":{{data}}}""");
        var got = b.Single("signal");
        Assert.Equal(a.Id, got.GetProperty("from").GetString());
        Assert.Equal(data, got.GetProperty("data").GetRawText());
        Assert.Empty(a.Drain());
        Assert.Empty(c.Drain());
        Assert.Equal(1, h.Server.RoutedSignals);
    }

    [Fact]
    public void Signal_without_data_sends_null_and_to_oneself_works()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        a.Send($$"""{"type":"signal","to":"{{a.Id}}"}""");
        Assert.Equal(JsonValueKind.Null, a.Single("signal").GetProperty("data").ValueKind);
    }

    [Theory]
    [InlineData("not json", "bad-message")]
    [InlineData("", "bad-message")]
    [InlineData("[1,2]", "bad-message")]
    [InlineData("\"join\"", "bad-message")]
    [InlineData("{}", "bad-message")]
    [InlineData("{\"type\":5}", "bad-message")]
    [InlineData("{\"type\":\"join\"", "bad-message")]
    [InlineData("{\"type\":\"join\",\"room\":\"a\"} {}", "bad-message")]
    [InlineData("{\"type\":\"join\",\"room\":7}", "bad-message")]
    [InlineData("{\"type\":\"join\",\"room\":\"\"}", "bad-message")]
    [InlineData("{\"type\":\"join\",\"room\":\"a\\u0000b\"}", "bad-message")]
    [InlineData("{\"type\":\"join\",\"room\":\"\\ud800\"}", "bad-message")]
    [InlineData("{\"type\":\"join\"}", "bad-message")]
    [InlineData("{\"type\":\"signal\",\"data\":{}}", "bad-message")]
    [InlineData("{\"type\":\"signal\",\"to\":[\"x\"]}", "bad-message")]
    [InlineData("{\"type\":\"signal\",\"to\":\"nobody\",\"data\":1}", "unknown-peer")]
    [InlineData("{\"type\":\"leave\",\"room\":\"never-joined\"}", "not-in-room")]
    [InlineData("{\"type\":\"teleport\"}", "unknown-type")]
    [InlineData("{\"type\":\"join\",\"room\":\"a\",\"ref\":{}}", "bad-message")]
    [InlineData("{\"type\":\"ping\",\"ref\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}", "bad-message")]
    [InlineData("{\"type\":\"ping\" /* comment */}", "bad-message")]
    public void Bad_messages_get_typed_errors_and_change_nothing(string message, string code)
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var b = h.Connect();
        b.Send("""{"type":"join","room":"keep"}""");
        b.Drain();
        a.Send(message);
        a.ExpectError(code);
        Assert.Empty(b.Drain());
        Assert.Equal(1, h.Server.RoomCount);
        Assert.Empty(a.Transport.Closes);
        // The connection still works.
        a.Send("""{"type":"ping","ref":9}""");
        Assert.Equal(9, a.Single("pong").GetProperty("ref").GetInt32());
    }

    [Fact]
    public void Invalid_utf8_in_to_or_room_is_a_bad_message()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        // An escape (so the slow decoding path) next to a byte that is not UTF-8.
        a.SendBytes([.. "{\"type\":\"signal\",\"to\":\"\\u0041"u8, 0xBE, .. "\",\"data\":1}"u8]);
        a.ExpectError("bad-message");
        a.SendBytes([.. "{\"type\":\"join\",\"room\":\"r"u8, 0xBE, .. "\"}"u8]);
        a.ExpectError("bad-message");
        a.SendBytes([.. "{\"type\":\"join\",\"room\":\"\\u0041"u8, 0xBE, .. "\"}"u8]);
        a.ExpectError("bad-message");
        a.SendBytes([.. "{\"type\":\"ping\",\"ref\":\"\\u0041"u8, 0xBE, .. "\"}"u8]);
        a.ExpectError("bad-message");
        Assert.Equal(0, h.Server.RoomCount);
    }

    [Fact]
    public void Errors_echo_the_ref_whether_string_or_number()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        a.Send("""{"ref":"abc","type":"signal","to":"missing"}""");
        a.ExpectError("unknown-peer", "abc");
        a.Send("""{"type":"leave","room":"r","ref":42}""");
        a.ExpectError("not-in-room", "42");
        a.Send("""{"type":"nope","ref":"late"}""");
        a.ExpectError("unknown-type", "late");
    }

    [Fact]
    public void Binary_and_oversized_frames_are_refused()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        h.Server.RejectBinary(a.Session, a.Transport);
        a.ExpectError("bad-message");
        h.Server.RejectTooLarge(a.Session, a.Transport);
        a.ExpectError("too-large");
    }

    [Fact]
    public void A_flood_is_rate_limited_without_touching_other_peers()
    {
        var h = new SignalingHarness(new SignalingOptions { MessagesPerSecond = 10, Burst = 20 });
        var flooder = h.Connect();
        var a = h.Connect();
        var b = h.Connect();
        for (var i = 0; i < 100; i++) flooder.Send($$"""{"type":"signal","to":"{{a.Id}}","data":{{i}},"ref":{{i}}}""");
        var delivered = a.Drain();
        Assert.Equal(20, delivered.Count);
        var errors = flooder.Drain();
        Assert.Equal(80, errors.Count);
        Assert.All(errors, e => Assert.Equal("rate-limited", e.GetProperty("code").GetString()));
        Assert.Equal(20, errors[0].GetProperty("ref").GetInt32());

        // Others are unaffected.
        b.Send($$"""{"type":"signal","to":"{{a.Id}}","data":"hi"}""");
        Assert.Equal(b.Id, a.Single("signal").GetProperty("from").GetString());

        // Tokens come back with time.
        h.Time.Advance(TimeSpan.FromSeconds(1));
        flooder.Send($$"""{"type":"signal","to":"{{a.Id}}","data":"again"}""");
        Assert.Equal("again", a.Single("signal").GetProperty("data").GetString());
    }

    [Fact]
    public void Rooms_and_memberships_are_bounded()
    {
        var h = new SignalingHarness(new SignalingOptions { PeersPerRoom = 3, RoomsPerPeer = 2 });
        var peers = Enumerable.Range(0, 4).Select(_ => h.Connect()).ToArray();
        for (var i = 0; i < 3; i++)
        {
            peers[i].Send("""{"type":"join","room":"small"}""");
        }
        peers[3].Send("""{"type":"join","room":"small","ref":"f"}""");
        peers[3].ExpectError("room-full", "f");

        peers[3].Send("""{"type":"join","room":"one"}""");
        peers[3].Send("""{"type":"join","room":"two"}""");
        peers[3].Drain();
        peers[3].Send("""{"type":"join","room":"three"}""");
        peers[3].ExpectError("room-full");
    }

    [Fact]
    public void Resume_within_grace_keeps_the_id_rooms_and_queued_messages()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var b = h.Connect();
        a.Send("""{"type":"join","room":"r"}""");
        b.Send("""{"type":"join","room":"r"}""");
        a.Drain();
        b.Drain();
        var id = a.Id;
        var oldToken = a.ResumeToken;

        a.Disconnect();
        h.Time.Advance(TimeSpan.FromSeconds(10));
        h.Server.Tick();
        Assert.Empty(b.Drain()); // no peer-left for a drop within the grace period
        for (var i = 0; i < 3; i++) b.Send($$"""{"type":"signal","to":"{{id}}","data":{{i}}}""");
        Assert.Empty(b.Drain());

        h.Resume(a);
        Assert.Equal(id, a.Id);
        Assert.True(a.Welcome.GetProperty("resumed").GetBoolean());
        Assert.NotEqual(oldToken, a.ResumeToken);
        var queued = a.Drain();
        Assert.Equal([0, 1, 2], queued.Select(m => m.GetProperty("data").GetInt32()));

        // The spent token is worth nothing now: it yields a new id.
        var stranger = h.Connect(oldToken);
        Assert.NotEqual(id, stranger.Id);
        Assert.False(stranger.Welcome.GetProperty("resumed").GetBoolean());

        // Still in the room.
        a.Send("""{"type":"join","room":"r"}""");
        Assert.Equal([b.Id], a.Single("joined").GetProperty("peers").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void After_the_grace_period_the_peer_is_gone()
    {
        var h = new SignalingHarness(new SignalingOptions { ResumeGrace = TimeSpan.FromSeconds(30) });
        var a = h.Connect();
        var b = h.Connect();
        a.Send("""{"type":"join","room":"r"}""");
        b.Send("""{"type":"join","room":"r"}""");
        a.Drain();
        b.Drain();
        var token = a.ResumeToken;
        a.Disconnect();
        h.Time.Advance(TimeSpan.FromSeconds(31));
        h.Server.Tick();
        Assert.Equal(a.Id, b.Single("peer-left").GetProperty("id").GetString());
        b.Send($$"""{"type":"signal","to":"{{a.Id}}","data":1}""");
        b.ExpectError("unknown-peer");
        var again = h.Connect(token);
        Assert.NotEqual(a.Id, again.Id);
    }

    [Fact]
    public void A_goodbye_close_leaves_at_once()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var b = h.Connect();
        a.Send("""{"type":"join","room":"r"}""");
        b.Send("""{"type":"join","room":"r"}""");
        a.Drain();
        b.Drain();
        var token = a.ResumeToken;
        h.Server.Detach(a.Session, a.Transport, leaving: true);
        Assert.Equal(a.Id, b.Single("peer-left").GetProperty("id").GetString());
        Assert.NotEqual(a.Id, h.Connect(token).Id);
    }

    [Fact]
    public void Messages_queued_for_a_dropped_peer_are_bounded()
    {
        var h = new SignalingHarness(new SignalingOptions { MaxQueuedMessages = 5, MessagesPerSecond = 1000, Burst = 1000 });
        var a = h.Connect();
        var b = h.Connect();
        a.Disconnect();
        for (var i = 0; i < 20; i++) b.Send($$"""{"type":"signal","to":"{{a.Id}}","data":{{i}}}""");
        h.Resume(a);
        Assert.Equal([15, 16, 17, 18, 19], a.Drain().Select(m => m.GetProperty("data").GetInt32()));
    }

    [Fact]
    public void A_resume_while_the_old_connection_lives_closes_the_old_one()
    {
        var h = new SignalingHarness();
        var a = h.Connect();
        var oldTransport = a.Transport;
        var oldSession = a.Session;
        h.Resume(a);
        Assert.Same(oldSession, a.Session);
        Assert.Equal([(4000, "resumed elsewhere")], oldTransport.Closes);
        // The old connection can no longer act for the peer, and its end does not detach the new one.
        h.Server.Receive(oldSession, oldTransport, """{"type":"ping"}"""u8);
        Assert.Empty(a.Drain());
        h.Server.Detach(oldSession, oldTransport);
        a.Send("""{"type":"ping"}""");
        a.Single("pong");
    }

    [Fact]
    public void Idle_connections_are_closed()
    {
        var h = new SignalingHarness(new SignalingOptions { IdleTimeout = TimeSpan.FromSeconds(60) });
        var a = h.Connect();
        var b = h.Connect();
        h.Time.Advance(TimeSpan.FromSeconds(45));
        h.Server.Touch(b.Session);
        h.Time.Advance(TimeSpan.FromSeconds(20));
        h.Server.Tick();
        Assert.Equal([(4001, "idle")], a.Transport.Closes);
        Assert.Empty(b.Transport.Closes);
    }

    [Fact]
    public void A_client_that_does_not_read_is_disconnected()
    {
        var h = new SignalingHarness(new SignalingOptions { MaxPendingSends = 16, MessagesPerSecond = 1000, Burst = 1000 });
        var reader = h.Connect();
        var slow = h.Connect();
        for (var i = 0; i < 17; i++) reader.Send($$"""{"type":"signal","to":"{{slow.Id}}","data":{{i}}}""");
        Assert.Contains(slow.Transport.Closes, c => c.Code == 1008);
        Assert.Empty(reader.Transport.Closes);
    }

    [Fact]
    public void Hostile_bytes_never_throw_and_always_get_an_answer()
    {
        var h = new SignalingHarness(new SignalingOptions { MessagesPerSecond = 1e9, Burst = 1e9 });
        var a = h.Connect();
        var b = h.Connect();
        b.Send("""{"type":"join","room":"r"}""");
        var seeds = new[]
        {
            $$$"""{"type":"signal","to":"{{{b.Id}}}","data":{"type":"offer","sdp":"v=0"}}""",
            """{"type":"join","room":"r","ref":"abc"}""",
            """{"type":"leave","room":"r"}""",
            """{"type":"ping","ref":12}""",
        };
        var random = new Random(1234);
        for (var i = 0; i < 20000; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(seeds[random.Next(seeds.Length)]);
            var mutations = random.Next(1, 6);
            for (var m = 0; m < mutations; m++)
            {
                switch (random.Next(4))
                {
                    case 0: bytes[random.Next(bytes.Length)] = (byte)random.Next(256); break;
                    case 1: bytes = bytes[..random.Next(bytes.Length + 1)]; break;
                    case 2: bytes = [.. bytes, .. bytes[..random.Next(bytes.Length + 1)]]; break;
                    default:
                        var at = random.Next(bytes.Length + 1);
                        bytes = [.. bytes[..at], (byte)"{}[]\",:\\"[random.Next(8)], .. bytes[at..]];
                        break;
                }
                if (bytes.Length == 0) break;
            }
            a.SendBytes(bytes);
            var answers = a.Drain();
            // Every message gets exactly one direct answer, unless it was a valid signal/join side effect.
            Assert.True(answers.Count <= 2, $"{answers.Count} answers to {Encoding.UTF8.GetString(bytes)}");
            b.Drain();
        }
        // Nothing broke: normal service continues.
        a.Send($$"""{"type":"signal","to":"{{b.Id}}","data":"ok"}""");
        Assert.Equal("ok", b.Drain().Last().GetProperty("data").GetString());
    }

    [Theory]
    [InlineData("lobby", true)]
    [InlineData("日本語のルーム", true)]
    [InlineData("😀", true)]
    [InlineData("", false)]
    [InlineData("tab\there", false)]
    public void Room_names(string name, bool valid) => Assert.Equal(valid, SignalingServer.IsValidRoomName(name));

    [Fact]
    public void Room_names_longer_than_128_are_refused() =>
        Assert.False(SignalingServer.IsValidRoomName(new string('a', 129)));
}
