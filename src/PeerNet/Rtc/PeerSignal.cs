using System.Buffers;
using System.Text.Json;

namespace PeerNet.Rtc;

/// <summary>
/// One signaling payload in simple-peer's shapes, which is what signaling v1 carries in a
/// signal's <c>data</c> (docs/signaling.md):
/// <c>{"type":"offer"|"answer","sdp":...}</c> or
/// <c>{"type":"candidate","candidate":{"candidate":...,"sdpMid":...,"sdpMLineIndex":...}}</c>.
/// </summary>
public abstract record PeerSignal
{
    private PeerSignal() { }

    /// <summary>An offer or answer.</summary>
    public sealed record Description(RtcSessionDescriptionInit Value) : PeerSignal;

    /// <summary>A trickled candidate (or, when empty, the end of candidates).</summary>
    public sealed record Candidate(RtcIceCandidateInit Value) : PeerSignal;

    /// <summary>The JSON object signaling carries.</summary>
    public JsonElement ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            switch (this)
            {
                case Description d:
                    writer.WriteString("type", d.Value.TypeName);
                    writer.WriteString("sdp", d.Value.Sdp);
                    break;
                case Candidate c:
                    writer.WriteString("type", "candidate");
                    writer.WriteStartObject("candidate");
                    writer.WriteString("candidate", c.Value.Candidate);
                    if (c.Value.SdpMid is { } mid) writer.WriteString("sdpMid", mid); else writer.WriteNull("sdpMid");
                    if (c.Value.SdpMLineIndex is { } index) writer.WriteNumber("sdpMLineIndex", index); else writer.WriteNull("sdpMLineIndex");
                    if (c.Value.UsernameFragment is { } ufrag) writer.WriteString("usernameFragment", ufrag);
                    writer.WriteEndObject();
                    break;
            }
            writer.WriteEndObject();
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Reads a signal's <c>data</c>. Anything that is not one of the shapes above is a
    /// <see cref="FormatException"/> saying what is wrong (it came from another peer: never trust it).
    /// </summary>
    public static PeerSignal Parse(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object) throw new FormatException("a signal's data must be a JSON object");
        var type = GetString(data, "type") ?? throw new FormatException("a signal's data has no string 'type'");
        switch (type)
        {
            case "offer" or "answer" or "pranswer" or "rollback":
                var sdp = GetString(data, "sdp");
                if (sdp is null && type != "rollback") throw new FormatException($"an '{type}' signal has no string 'sdp'");
                return new Description(new RtcSessionDescriptionInit(RtcSessionDescriptionInit.ParseType(type), sdp ?? ""));
            case "candidate":
                if (!data.TryGetProperty("candidate", out var candidate) || candidate.ValueKind is JsonValueKind.Null)
                    return new Candidate(new RtcIceCandidateInit(""));
                if (candidate.ValueKind != JsonValueKind.Object) throw new FormatException("a candidate signal's 'candidate' must be an object");
                var text = GetString(candidate, "candidate") ?? "";
                var mid = GetString(candidate, "sdpMid");
                int? index = candidate.TryGetProperty("sdpMLineIndex", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out var n) && n >= 0 ? n : null;
                return new Candidate(new RtcIceCandidateInit(text, mid, index, GetString(candidate, "usernameFragment")));
            default:
                throw new FormatException($"unknown signal type '{type}' (expected offer, answer or candidate)");
        }
    }

    private static string? GetString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
