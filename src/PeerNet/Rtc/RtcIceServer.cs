using System.Text.Json.Serialization;

namespace PeerNet.Rtc;

/// <summary>An ICE server entry, shaped like the W3C <c>RTCIceServer</c> dictionary.</summary>
public sealed record RtcIceServer
{
    /// <summary><c>stun:</c>, <c>turn:</c> or <c>turns:</c> URLs.</summary>
    [JsonPropertyName("urls")]
    public IReadOnlyList<string> Urls { get; init; } = [];

    [JsonPropertyName("username")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Username { get; init; }

    [JsonPropertyName("credential")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Credential { get; init; }
}
