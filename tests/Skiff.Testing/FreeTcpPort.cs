using System.Net;
using System.Net.Sockets;

namespace Skiff.Testing;

/// <summary>Loopback ports for servers that tests start as separate processes.</summary>
public static class FreeTcpPort
{
    /// <summary>
    /// A port that was free a moment ago (the OS picked it for a listener that is closed again). Another
    /// program may still take it before the server binds, so callers retry with a new port on "address in use".
    /// </summary>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
