using System.Buffers.Text;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace PeerNet.Bench.Signaling;

public enum MessageKind { Other, Signal, Error, Pong }

/// <summary>
/// How one signaling server is spoken to: the URL of its WebSocket, what happens between the
/// upgrade and the first signal (greeting, joining rooms), and the shape of its messages. Both
/// servers carry the same application payload (<see cref="SignalPayload"/>), so the load is the same
/// byte for byte inside the envelope.
/// </summary>
public abstract class SignalingProtocol
{
    public abstract string Name { get; }

    /// <summary>The path and query of the WebSocket upgrade for <paramref name="client"/>.</summary>
    public abstract string PathAndQuery(BenchClient client);

    /// <summary>After the upgrade, before the receive loop: read the greeting, learn the client's id,
    /// join its room. Uses the client's receive buffer; sends nothing the pump could overlap.</summary>
    public abstract Task HandshakeAsync(BenchClient client, string room, CancellationToken ct);

    /// <summary>The whole message that sends <paramref name="payload"/> to <paramref name="targetId"/>.</summary>
    public abstract byte[] SignalMessage(string targetId, ReadOnlySpan<byte> payload);

    public abstract byte[] Heartbeat { get; }

    /// <summary>What a received message is, from its top-level "type".</summary>
    public abstract MessageKind Classify(ReadOnlySpan<byte> message);

    /// <summary>For an error message: its code (for the report).</summary>
    public abstract string ErrorCode(ReadOnlySpan<byte> message);

    protected static string? TopLevelString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> property)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(property);
            if (!reader.Read()) return null;
            if (match) return reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.TokenType.ToString();
            reader.Skip();
        }
        return null;
    }

    /// <summary>Reads the top-level "type" and compares it with the candidates without allocating.</summary>
    protected static int TypeIndex(ReadOnlySpan<byte> json, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isType = reader.ValueTextEquals("type"u8);
                if (!reader.Read()) return -1;
                if (isType)
                {
                    if (reader.TokenType != JsonTokenType.String) return -1;
                    if (reader.ValueTextEquals(a)) return 0;
                    if (reader.ValueTextEquals(b)) return 1;
                    if (reader.ValueTextEquals(c)) return 2;
                    return -1;
                }
                reader.Skip();
            }
        }
        catch (JsonException) { }
        return -1;
    }

    protected static async Task<ReadOnlyMemory<byte>> ReceiveMessageAsync(BenchClient client, CancellationToken ct)
    {
        int n = 0;
        while (true)
        {
            if (n == client.ReceiveBuffer.Length)
            {
                byte[] bigger = new byte[client.ReceiveBuffer.Length * 2];
                client.ReceiveBuffer.CopyTo(bigger, 0);
                client.ReceiveBuffer = bigger;
            }
            var r = await client.Socket.ReceiveAsync(client.ReceiveBuffer.AsMemory(n), ct).ConfigureAwait(false);
            if (r.MessageType == WebSocketMessageType.Close)
                throw new IOException($"server closed the connection during setup: {client.Socket.CloseStatus} {client.Socket.CloseStatusDescription}");
            n += r.Count;
            if (r.EndOfMessage) return client.ReceiveBuffer.AsMemory(0, n);
        }
    }
}

/// <summary>PeerNet signaling protocol v1 (docs/signaling.md): welcome, join, signal, ping.</summary>
public sealed class PeerNetProtocol : SignalingProtocol
{
    private static readonly byte[] s_ping = """{"type":"ping"}"""u8.ToArray();

    public override string Name => "PeerNet";
    public override string PathAndQuery(BenchClient client) => "/signal";
    public override byte[] Heartbeat => s_ping;

    public override async Task HandshakeAsync(BenchClient client, string room, CancellationToken ct)
    {
        var welcome = await ReceiveMessageAsync(client, ct).ConfigureAwait(false);
        if (TopLevelString(welcome.Span, "type"u8) != "welcome")
            throw new IOException("expected welcome, got " + Encoding.UTF8.GetString(welcome.Span));
        client.Id = TopLevelString(welcome.Span, "id"u8) ?? throw new IOException("welcome without id");

        byte[] join = Encoding.UTF8.GetBytes($$"""{"type":"join","room":"{{room}}"}""");
        await client.Socket.SendAsync(join, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
        for (int i = 0; i < 1000; i++)     // others' peer-joined may come first
        {
            var m = await ReceiveMessageAsync(client, ct).ConfigureAwait(false);
            string? type = TopLevelString(m.Span, "type"u8);
            if (type == "joined") return;
            if (type == "error") throw new IOException("join refused: " + Encoding.UTF8.GetString(m.Span));
        }
        throw new IOException("no joined answer");
    }

    public override byte[] SignalMessage(string targetId, ReadOnlySpan<byte> payload) =>
        [.. Encoding.UTF8.GetBytes($$"""{"type":"signal","to":"{{targetId}}","data":"""), .. payload, (byte)'}'];

    public override MessageKind Classify(ReadOnlySpan<byte> message) =>
        TypeIndex(message, "signal"u8, "error"u8, "pong"u8) switch
        {
            0 => MessageKind.Signal,
            1 => MessageKind.Error,
            2 => MessageKind.Pong,
            _ => MessageKind.Other,
        };

    public override string ErrorCode(ReadOnlySpan<byte> message) => TopLevelString(message, "code"u8) ?? "?";
}

/// <summary>
/// The PeerJS server's protocol (npm `peer`, src/services/webSocketServer and messageHandler): the
/// client chooses its id and a token in the query string, the server answers {"type":"OPEN"}, then
/// forwards OFFER/ANSWER/CANDIDATE messages to "dst" as {type, src, dst, payload}. HEARTBEAT keeps
/// the client alive (alive_timeout). It has no rooms: the same groups are formed from known ids.
/// </summary>
public sealed class PeerJsProtocol : SignalingProtocol
{
    private static readonly byte[] s_heartbeat = """{"type":"HEARTBEAT"}"""u8.ToArray();

    public override string Name => "PeerJS";
    public override byte[] Heartbeat => s_heartbeat;

    public override string PathAndQuery(BenchClient client)
    {
        // As the PeerJS client does: a UUID-like id (what the server's /id would hand out) and a
        // random token.
        client.Id = Guid.NewGuid().ToString();
        string token = Convert.ToString(Random.Shared.NextInt64(1L << 52), CultureInfo.InvariantCulture);
        return $"/peerjs?key=peerjs&id={client.Id}&token={token}";
    }

    public override async Task HandshakeAsync(BenchClient client, string room, CancellationToken ct)
    {
        var open = await ReceiveMessageAsync(client, ct).ConfigureAwait(false);
        string? type = TopLevelString(open.Span, "type"u8);
        if (type != "OPEN") throw new IOException("expected OPEN, got " + Encoding.UTF8.GetString(open.Span));
    }

    public override byte[] SignalMessage(string targetId, ReadOnlySpan<byte> payload) =>
        [.. Encoding.UTF8.GetBytes($$"""{"type":"CANDIDATE","dst":"{{targetId}}","payload":"""), .. payload, (byte)'}'];

    public override MessageKind Classify(ReadOnlySpan<byte> message) =>
        TypeIndex(message, "CANDIDATE"u8, "ERROR"u8, "ID-TAKEN"u8) switch
        {
            0 => MessageKind.Signal,
            1 or 2 => MessageKind.Error,
            _ => MessageKind.Other,
        };

    public override string ErrorCode(ReadOnlySpan<byte> message) => TopLevelString(message, "type"u8) ?? "?";
}

/// <summary>
/// The application payload of every benchmark signal: an ICE-candidate-like object of about 200
/// bytes whose last fields carry the sender's index, a sequence number and the send time, as
/// fixed-width digit strings so they can be rewritten in place before each send and found again
/// with one search on receipt (PeerNet forwards `data` byte for byte; PeerJS re-serialises
/// `payload` with JSON.stringify, which keeps the same bytes for this object).
/// </summary>
public static class SignalPayload
{
    public const int SrcDigits = 8, SeqDigits = 10, TsDigits = 16;

    private static readonly byte[] s_src = "\"src\":\""u8.ToArray();
    private static readonly byte[] s_seq = "\"seq\":\""u8.ToArray();
    private static readonly byte[] s_ts = "\"ts\":\""u8.ToArray();

    public static byte[] Create(int sourceIndex) => Encoding.UTF8.GetBytes(
        "{\"type\":\"candidate\",\"candidate\":{\"candidate\":\"candidate:1467250027 1 udp 2122260223 " +
        "127.0.0.1 46243 typ host generation 0 ufrag Zx9k network-id 1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}," +
        $"\"src\":\"{sourceIndex.ToString("D8", CultureInfo.InvariantCulture)}\",\"seq\":\"0000000000\",\"ts\":\"0000000000000000\"}}");

    /// <summary>Offsets of the seq and ts digits inside a whole message.</summary>
    public static (int Seq, int Ts) Offsets(ReadOnlySpan<byte> message) =>
        (message.LastIndexOf(s_seq) + s_seq.Length, message.LastIndexOf(s_ts) + s_ts.Length);

    public static void Write(Span<byte> digits, long value)
    {
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            digits[i] = (byte)('0' + (int)(value % 10));
            value /= 10;
        }
    }

    /// <summary>Parses src, seq and ts from a received signal; false if they are not there.</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, out int src, out long seq, out long ts)
    {
        src = 0; seq = 0; ts = 0;
        int t = message.LastIndexOf(s_ts);
        if (t < 0) return false;
        // The three fields are adjacent and fixed-width: "src":"dddddddd","seq":"dddddddddd","ts":"…"
        int s = t - (s_seq.Length + SeqDigits + 2);
        int r = s - (s_src.Length + SrcDigits + 2);
        if (r < 0 || !message[r..].StartsWith(s_src) || !message[s..].StartsWith(s_seq)) return false;
        return Utf8Parser.TryParse(message.Slice(r + s_src.Length, SrcDigits), out src, out int a) && a == SrcDigits
            && Utf8Parser.TryParse(message.Slice(s + s_seq.Length, SeqDigits), out seq, out int b) && b == SeqDigits
            && t + s_ts.Length + TsDigits <= message.Length
            && Utf8Parser.TryParse(message.Slice(t + s_ts.Length, TsDigits), out ts, out int c) && c == TsDigits;
    }
}
