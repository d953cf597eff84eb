using System.Buffers;
using System.Text.Json;

namespace PeerNet.Hub.Signaling;

/// <summary>
/// Writes the server's messages (docs/signaling.md) into pooled frames. A per-thread writer and
/// scratch buffer are reused, so a routed signal costs one pooled buffer and no allocation.
/// </summary>
internal static class ServerMessage
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    private static Utf8JsonWriter Begin()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (t_writer is null) t_writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        else t_writer.Reset(buffer);
        return t_writer;
    }

    private static OutboundFrame End(Utf8JsonWriter writer)
    {
        writer.Flush();
        var frame = OutboundFrame.Copy(t_buffer!.WrittenSpan);
        // Do not let one huge message pin a large buffer on this thread for ever.
        if (t_buffer.Capacity > 256 * 1024)
        {
            t_buffer = null;
            t_writer = null;
        }
        return frame;
    }

    public static OutboundFrame Welcome(string id, string resume, bool resumed, ReadOnlySpan<byte> iceServersJson, ReadOnlySpan<byte> limitsJson)
    {
        var w = Begin();
        w.WriteStartObject();
        w.WriteString("type"u8, "welcome"u8);
        w.WriteNumber("version"u8, 1);
        w.WriteString("id"u8, id);
        w.WriteString("resume"u8, resume);
        w.WriteBoolean("resumed"u8, resumed);
        w.WritePropertyName("iceServers"u8);
        w.WriteRawValue(iceServersJson, skipInputValidation: true);
        w.WritePropertyName("limits"u8);
        w.WriteRawValue(limitsJson, skipInputValidation: true);
        w.WriteEndObject();
        return End(w);
    }

    public static OutboundFrame Joined(string room, List<string> peers, ReadOnlySpan<byte> reference)
    {
        var w = Begin();
        w.WriteStartObject();
        w.WriteString("type"u8, "joined"u8);
        w.WriteString("room"u8, room);
        w.WriteStartArray("peers"u8);
        foreach (var p in peers) w.WriteStringValue(p);
        w.WriteEndArray();
        WriteRef(w, reference);
        w.WriteEndObject();
        return End(w);
    }

    public static OutboundFrame Left(string room, ReadOnlySpan<byte> reference) => RoomEvent("left"u8, room, null, reference);

    public static OutboundFrame PeerJoined(string room, string id) => RoomEvent("peer-joined"u8, room, id, default);

    public static OutboundFrame PeerLeft(string room, string id) => RoomEvent("peer-left"u8, room, id, default);

    private static OutboundFrame RoomEvent(ReadOnlySpan<byte> type, string room, string? id, ReadOnlySpan<byte> reference)
    {
        var w = Begin();
        w.WriteStartObject();
        w.WriteString("type"u8, type);
        w.WriteString("room"u8, room);
        if (id is not null) w.WriteString("id"u8, id);
        WriteRef(w, reference);
        w.WriteEndObject();
        return End(w);
    }

    public static OutboundFrame Pong(ReadOnlySpan<byte> reference)
    {
        var w = Begin();
        w.WriteStartObject();
        w.WriteString("type"u8, "pong"u8);
        WriteRef(w, reference);
        w.WriteEndObject();
        return End(w);
    }

    public static OutboundFrame Error(string code, string message, ReadOnlySpan<byte> reference)
    {
        var w = Begin();
        w.WriteStartObject();
        w.WriteString("type"u8, "error"u8);
        w.WriteString("code"u8, code);
        w.WriteString("message"u8, message);
        WriteRef(w, reference);
        w.WriteEndObject();
        return End(w);
    }

    private static void WriteRef(Utf8JsonWriter w, ReadOnlySpan<byte> reference)
    {
        if (reference.IsEmpty) return;
        w.WritePropertyName("ref"u8);
        w.WriteRawValue(reference, skipInputValidation: true);
    }
}
