using System.Text.Json;

namespace PeerNet.Hub.Signaling;

/// <summary>The kinds of message a client may send (docs/signaling.md).</summary>
internal enum ClientMessageType
{
    None,
    Unknown,
    Join,
    Leave,
    Signal,
    Ping,
}

/// <summary>
/// A client's message, parsed in place: spans point into the received frame, so parsing a signal
/// allocates nothing. Only the fields v1 uses are read; unknown fields are skipped.
/// </summary>
internal ref struct ClientMessage
{
    public ClientMessageType Type;

    /// <summary>The raw JSON token of <c>ref</c> (quotes included), echoed verbatim in errors.</summary>
    public ReadOnlySpan<byte> Ref;

    /// <summary>The raw bytes of <c>room</c> between its quotes (escapes not yet decoded).</summary>
    public ReadOnlySpan<byte> Room;
    public bool RoomIsEscaped;
    public bool HasRoom;

    /// <summary>The raw bytes of <c>to</c> between its quotes.</summary>
    public ReadOnlySpan<byte> To;
    public bool ToIsEscaped;
    public bool HasTo;

    /// <summary>The raw JSON of <c>data</c>, any value, forwarded byte for byte.</summary>
    public ReadOnlySpan<byte> Data;

    /// <summary>Longest <c>ref</c> accepted, in characters (docs/signaling.md).</summary>
    public const int MaxRefLength = 64;

    /// <summary>
    /// Parses one frame. On failure returns false with a reason for the client; <see cref="Ref"/>
    /// is set if the <c>ref</c> field was read before the error.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ClientMessage message, out string? error)
    {
        message = default;
        error = null;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "a message must be a JSON object";
                // Still validate it is JSON at all, to give the more useful reason.
                if (reader.TokenType != JsonTokenType.None) reader.Skip();
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = "'type' must be a string";
                        return false;
                    }
                    message.Type =
                        reader.ValueTextEquals("signal"u8) ? ClientMessageType.Signal :
                        reader.ValueTextEquals("join"u8) ? ClientMessageType.Join :
                        reader.ValueTextEquals("leave"u8) ? ClientMessageType.Leave :
                        reader.ValueTextEquals("ping"u8) ? ClientMessageType.Ping :
                        ClientMessageType.Unknown;
                }
                else if (reader.ValueTextEquals("ref"u8))
                {
                    reader.Read();
                    var raw = utf8.Slice((int)reader.TokenStartIndex, (int)(reader.BytesConsumed - reader.TokenStartIndex));
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number))
                    {
                        reader.Skip();
                        error = "'ref' must be a string or a number";
                        return false;
                    }
                    if (raw.Length > MaxRefLength + 2 || (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped && reader.GetString()!.Length > MaxRefLength))
                    {
                        error = $"'ref' must be at most {MaxRefLength} characters";
                        return false;
                    }
                    message.Ref = raw;
                }
                else if (reader.ValueTextEquals("room"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        reader.Skip();
                        error = "'room' must be a string";
                        return false;
                    }
                    message.Room = reader.ValueSpan;
                    message.RoomIsEscaped = reader.ValueIsEscaped;
                    message.HasRoom = true;
                }
                else if (reader.ValueTextEquals("to"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        reader.Skip();
                        error = "'to' must be a string (a peer id)";
                        return false;
                    }
                    message.To = reader.ValueSpan;
                    message.ToIsEscaped = reader.ValueIsEscaped;
                    message.HasTo = true;
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    message.Data = utf8[start..(int)reader.BytesConsumed];
                }
                else
                {
                    // Unknown fields are ignored, so later versions can extend messages (and a
                    // client-sent "from" is dropped here: the server writes its own).
                    reader.Read();
                    reader.Skip();
                }
            }
            // Anything after the object other than whitespace is not one JSON value.
            if (reader.Read())
            {
                error = "a message must be a single JSON object";
                return false;
            }
        }
        catch (JsonException)
        {
            error = "the message is not valid JSON";
            return false;
        }
        catch (InvalidOperationException)
        {
            // Decoding an escaped string (the ref's length check) met bytes that are not UTF-8.
            error = "the message is not valid UTF-8";
            return false;
        }

        if (message.Type == ClientMessageType.None)
        {
            error = "the message has no 'type'";
            return false;
        }
        return true;
    }
}
