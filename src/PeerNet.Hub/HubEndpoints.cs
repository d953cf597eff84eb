using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerNet.Hub.Signaling;
using QRCoder;

namespace PeerNet.Hub;

/// <summary>The hub's HTTP endpoints besides static files (docs/signaling.md, Other endpoints).</summary>
internal static class HubEndpoints
{
    /// <summary>Longest text the QR endpoint encodes (a share link is far shorter).</summary>
    public const int MaxQrTextLength = 1024;

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));

        app.MapGet("/api/ice-servers", (HttpContext context, IceServerProvider ice) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            // Not tied to a peer: a random name keys the TURN credential's quota.
            return Results.Json(new { iceServers = ice.Current(context.Request.Host.Host, "web-" + Guid.NewGuid().ToString("N")[..12]) });
        });

        app.MapGet("/api/stats", (SignalingServer server) =>
            Results.Json(new { peers = server.PeerCount, rooms = server.RoomCount, routedSignals = server.RoutedSignals }));

        app.MapGet("/api/qr", (HttpContext context, string? text) =>
        {
            if (string.IsNullOrEmpty(text) || text.Length > MaxQrTextLength)
            {
                return Results.Json(new { code = "bad-request", message = $"'text' must be 1-{MaxQrTextLength} characters" }, statusCode: 400);
            }
            using var generator = new QRCodeGenerator();
            using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
            var svg = new SvgQRCode(data).GetGraphic(8);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text(svg, "image/svg+xml");
        });

        app.MapGet("/api/pins", (HttpContext context, HubPins pins) =>
        {
            if (!pins.Enabled) return NoStore();
            if (pins.Authorize(context.Request.Headers.Authorization) is not { } service) return Unauthorized(context);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { pins = service.List() });
        });

        app.MapPost("/api/pins", async (HttpContext context, HubPins pins, ILogger<HubPins> logger) =>
        {
            if (!pins.Enabled) return NoStore();
            if (pins.Authorize(context.Request.Headers.Authorization) is not { } service) return Unauthorized(context);
            var (id, problem) = await ReadPinRequestAsync(context.Request).ConfigureAwait(false);
            if (problem is not null)
            {
                logger.LogInformation("pin request refused: {Reason}", problem);
                return Results.Json(new { code = "bad-request", message = problem }, statusCode: 400);
            }
            var status = service.Pin(id!.Value);
            if (status.New) logger.LogInformation("pinning {ContentId} into the store", status.ContentId);
            return Results.Json(status, statusCode: status.New ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
        });

        app.Map("/signal", async (HttpContext context, SignalingServer server, ILoggerFactory loggers) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("/signal speaks WebSocket: see docs/signaling.md\n").ConfigureAwait(false);
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = false }).ConfigureAwait(false);
            var connection = new WebSocketSignalingConnection(server, socket, loggers.CreateLogger<WebSocketSignalingConnection>());
            await connection.RunAsync(context.Request.Query["resume"].FirstOrDefault(), context.Request.Host.Host, context.RequestAborted).ConfigureAwait(false);
        });
    }

    /// <summary>Longest pin request body: <c>{"cid":"…"}</c> is about 60 bytes.</summary>
    public const int MaxPinRequestBytes = 1024;

    private static IResult NoStore() =>
        Results.Json(new { code = "no-store", message = "this hub keeps no replicas: run it as peernet serve --store DIR" }, statusCode: StatusCodes.Status404NotFound);

    private static IResult Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"peernet-pins\"";
        return Results.Json(new { code = "unauthorized", message = "pinning needs the store's token: Authorization: Bearer TOKEN" }, statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>Reads <c>{"cid":"CID"}</c>: a content id alone, never a link (a link could carry its key).</summary>
    private static async Task<(PeerNet.Sharing.ContentId? Id, string? Problem)> ReadPinRequestAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxPinRequestBytes) return (null, $"the body is larger than {MaxPinRequestBytes} bytes");
        var buffer = new byte[MaxPinRequestBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }
        if (length > MaxPinRequestBytes) return (null, $"the body is larger than {MaxPinRequestBytes} bytes");
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, length));
            if (json.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object
                || !json.RootElement.TryGetProperty("cid", out var cid)
                || cid.ValueKind != System.Text.Json.JsonValueKind.String)
            {
                return (null, "expected {\"cid\":\"CONTENT_ID\"}");
            }
            return PeerNet.Sharing.ContentId.TryParse(cid.GetString(), out var id)
                ? (id, null)
                : (null, "'cid' is not a content id (43 base64url characters); send the content id, not the link");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) // invalid JSON, or a string that is not UTF-8
        {
            return (null, "the body is not JSON: expected {\"cid\":\"CONTENT_ID\"}");
        }
    }
}
