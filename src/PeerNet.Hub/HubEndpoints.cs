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

}
