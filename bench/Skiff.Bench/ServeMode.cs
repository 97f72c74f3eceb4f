using System.Diagnostics;
using System.Net.Http.Headers;
using Skiff.Server;

namespace Skiff.Bench;

/// <summary>Runs a Skiff server in its own process, so the load client does not share its runtime.</summary>
internal static class ServeMode
{
    public const string Key = "sk_bench_key_0123456789abcdefghijklmnopqrstuvwxyz";

    public static Task<int> RunAsync(BenchOptions options) =>
        SkiffServer.RunAsync(new ServerOptions
        {
            DataDirectory = options.Data ?? throw new ArgumentException("--data is required"),
            Urls = options.Urls ?? throw new ArgumentException("--urls is required"),
            MaxWorkers = options.MaxWorkers,
            Executor = options.Executor,
        }, CancellationToken.None);

    /// <summary>Starts this program in serve mode; returns the process and a client for it.</summary>
    public static async Task<(Process Server, HttpClient Client)> StartAsync(
        string data, int port, int maxWorkers, int connections, string executor = "process", IReadOnlyDictionary<string, string>? environment = null)
    {
        var url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(ServeMode).Assembly.Location);
        foreach (var arg in new[] { "serve", "--data", data, "--urls", url, "--max-workers", maxWorkers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--executor", executor })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["SKIFF_ADMIN_KEY"] = Key;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("server: " + e.Data);
            }
        };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = new Uri(url),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                if ((await client.GetAsync("/health")).IsSuccessStatusCode)
                {
                    return (server, client);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        server.Kill();
        throw new InvalidOperationException("the bench server did not start");
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGTERM, as a user stops a server, so it removes what it keeps (warm containers); SIGKILL after 30 s.</summary>
    public static async Task StopAsync(Process server)
    {
        if (Terminate(server.Id) == 0)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await server.WaitForExitAsync(grace.Token);
                return;
            }
            catch (OperationCanceledException)
            {
            }
        }
        server.Kill();
        await server.WaitForExitAsync();
    }

    private static int Terminate(int pid) => NativeMethods.Kill(pid, 15);

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
