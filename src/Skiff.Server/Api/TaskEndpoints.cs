using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Skiff.Core.Tasks;
using Skiff.Core.Validation;
using Skiff.Server.Auth;
using Skiff.Server.Hosting;
using Skiff.Server.Scheduling;
using Skiff.Server.Quotas;
using Skiff.Server.Secrets;
using Skiff.Storage.Contract;

namespace Skiff.Server.Api;

internal static class TaskEndpoints
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;
    private const int MaxIdempotencyKeyLength = 200;

    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/tasks").WithTags("Tasks");
        tasks.MapPost("/", SubmitAsync)
            .Accepts<TaskRequest>("application/json")
            .Produces<TaskDocument>(StatusCodes.Status201Created)
            .Produces<TaskDocument>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .WithSummary("Submit a task: a built-in workload type or a command.")
            .RequireWriter()
            .RequireRateLimiting(SubmitRateLimiting.Policy);
        tasks.MapGet("/", ListAsync).Produces<TaskListDocument>().WithSummary("List tasks, newest first.");
        tasks.MapGet("/{taskId}", GetAsync).Produces<TaskDocument>().ProducesProblem(StatusCodes.Status404NotFound);
        tasks.MapPost("/{taskId}/cancel", CancelAsync).Produces<TaskDocument>().ProducesProblem(StatusCodes.Status409Conflict).RequireWriter();
        tasks.MapGet("/{taskId}/logs", LogsAsync).Produces<string>(contentType: "text/plain");
        tasks.MapGet("/{taskId}/result", ResultAsync).Produces<ResultDocument>().ProducesProblem(StatusCodes.Status404NotFound);
        tasks.MapGet("/{taskId}/artifacts/{**path}", ArtifactAsync).Produces(StatusCodes.Status200OK, contentType: "application/octet-stream");

        var deadLetter = app.MapGroup("/dead-letter").WithTags("Dead-letter queue");
        deadLetter.MapGet("/", DeadLetterAsync).Produces<TaskListDocument>().WithSummary("Dead-lettered tasks, oldest first.");
        deadLetter.MapPost("/{taskId}/redrive", RedriveAsync).Produces<TaskDocument>().ProducesProblem(StatusCodes.Status409Conflict).RequireWriter();
        return app;
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, TaskService service, SecretService secrets, UserQuotas quotas, DispatchQueue queue,
        Images.SubmitImageCheck images, IOptions<SkiffOptions> options)
    {
        var (body, problem) = await JsonBody.ReadAsync(context.Request, ApiJson.Default.TaskRequest);
        if (problem is not null)
        {
            return problem;
        }
        var (spec, errors) = ToSpec(body!, options.Value.TaskLimits);
        var idempotencyKey = context.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length > MaxIdempotencyKeyLength)
        {
            errors.Add("Idempotency-Key", $"at most {MaxIdempotencyKeyLength} characters");
        }
        images.Validate(spec.Image, errors);
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        if (QuotaChecks.OverQueuedQuota(context, quotas, queue) is { } overQuota)
        {
            return overQuota;
        }
        if (await SecretEndpoints.ForbidUnreadableAsync(spec, context.GetPrincipal(), secrets, context.RequestAborted) is { } forbidden)
        {
            return forbidden;
        }
        var outcome = await service.SubmitAsync(spec, context.GetPrincipal(), idempotencyKey.Length == 0 ? null : idempotencyKey, context.RequestAborted);
        var document = TaskDocument.From(outcome.Task, withEvents: false);
        return outcome.Created
            ? TypedResults.Created($"/tasks/{document.TaskId}", document)
            : TypedResults.Ok(document);
    }

    /// <summary>Maps the request onto a spec (defaults filled in) and validates it; every error at once.</summary>
    internal static (TaskSpec Spec, ValidationErrors Errors) ToSpec(TaskRequest body, TaskLimits limits)
    {
        var errors = new ValidationErrors();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in body.Parameters ?? [])
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String when JsonBody.TextOf(value) is { } text:
                    parameters[name] = text;
                    break;
                case JsonValueKind.String:
                    errors.Add("parameters", $"'{name}' is not valid text (invalid UTF-8 or a lone surrogate)");
                    break;
                case JsonValueKind.Number:
                case JsonValueKind.True:
                case JsonValueKind.False:
                    parameters[name] = value.GetRawText();
                    break;
                default:
                    errors.Add("parameters", $"'{name}' must be a string, number or boolean");
                    break;
            }
        }
        var spec = new TaskSpec
        {
            Type = body.Type,
            Command = body.Command,
            Parameters = parameters,
            Image = body.Image ?? TaskDefaults.Image,
            Priority = body.Priority ?? 0,
            TimeoutSeconds = body.TimeoutSeconds ?? TaskDefaults.TimeoutSeconds,
            Cpu = body.Cpu ?? TaskDefaults.Cpu,
            MemoryMb = body.MemoryMb ?? TaskDefaults.MemoryMb,
            MaxAttempts = body.MaxAttempts ?? TaskDefaults.MaxAttempts,
            Network = body.Network ?? TaskDefaults.Network,
            PidsLimit = body.PidsLimit ?? TaskDefaults.PidsLimit,
            EphemeralStorageMb = body.EphemeralStorageMb ?? TaskDefaults.EphemeralStorageMb,
            User = body.User ?? TaskDefaults.User,
            Env = body.Env ?? [],
            Secrets = body.Secrets ?? [],
            Metadata = body.Metadata ?? [],
        };
        var specErrors = TaskSpecValidator.Validate(spec, limits);
        foreach (var (field, messages) in specErrors.ToDictionary())
        {
            foreach (var message in messages)
            {
                errors.Add(field, message);
            }
        }
        return (spec, errors);
    }

    private static async Task<IResult> GetAsync(string taskId, HttpContext context, TaskService service)
    {
        var task = await service.GetAsync(taskId, context.GetPrincipal(), withEvents: true, context.RequestAborted);
        return task is null ? NotFound(taskId) : TypedResults.Ok(TaskDocument.From(task, withEvents: true));
    }

    private static async Task<IResult> ListAsync(HttpContext context, TaskService service)
    {
        var query = context.Request.Query;
        var errors = new ValidationErrors();
        TaskState? status = null;
        if (query.TryGetValue("status", out var statusText) && !string.IsNullOrEmpty(statusText))
        {
            if (TaskStateNames.TryParse(statusText, out var parsed))
            {
                status = parsed;
            }
            else
            {
                errors.Add("status", $"must be one of {TaskStateNames.AllNames}");
            }
        }
        var priority = QueryParameters.Int(query, "priority", TaskDefaults.MinPriority, TaskDefaults.MaxPriority, errors);
        var limit = QueryParameters.Int(query, "limit", 1, MaxPageSize, errors) ?? DefaultPageSize;
        var cursor = QueryParameters.Cursor(query, errors);
        var userId = query["userId"].ToString();
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        var page = await service.ListAsync(new TaskQuery(status, userId.Length == 0 ? null : userId, priority, cursor, limit),
            context.GetPrincipal(), context.RequestAborted);
        return TypedResults.Ok(ToListDocument(page));
    }

    private static async Task<IResult> CancelAsync(string taskId, HttpContext context, TaskService service)
    {
        var outcome = await service.CancelAsync(taskId, context.GetPrincipal(), context.RequestAborted);
        return outcome.Result switch
        {
            CancelResult.NotFound => NotFound(taskId),
            CancelResult.AlreadyTerminal => Problems.Conflict($"task {taskId} already ended ({outcome.Task!.Status.ToWire()}); only queued or running tasks can be cancelled"),
            _ => TypedResults.Ok(TaskDocument.From(outcome.Task!, withEvents: true)),
        };
    }

    private static async Task LogsAsync(string taskId, HttpContext context, TaskService service, ITaskStore store, LogNotifier notifier,
        IHostApplicationLifetime lifetime)
    {
        var caller = context.GetPrincipal();
        var ct = context.RequestAborted;
        if (await service.GetAsync(taskId, caller, withEvents: false, ct) is null)
        {
            await NotFound(taskId).ExecuteAsync(context);
            return;
        }
        var follow = string.Equals(context.Request.Query["follow"], "true", StringComparison.OrdinalIgnoreCase);
        // Kestrel waits for open requests before the worker drains, so a follower would hold up shutdown (and the
        // grace period) until its task ended. Aborting, rather than ending the stream, tells the client the log did
        // not end with the task.
        using var onStopping = follow ? lifetime.ApplicationStopping.Register(context.Abort) : default;
        var timestamps = string.Equals(context.Request.Query["timestamps"], "true", StringComparison.OrdinalIgnoreCase);
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        long after = 0;
        var text = new StringBuilder();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Watch before reading: a line stored between the read and the wait still wakes us.
                var changed = follow ? notifier.Watch(taskId) : Task.CompletedTask;
                var lines = await store.ReadLogsAsync(taskId, after, 1000, ct);
                if (lines.Count > 0)
                {
                    text.Clear();
                    foreach (var line in lines)
                    {
                        if (timestamps)
                        {
                            text.Append(line.At.ToString("O", CultureInfo.InvariantCulture)).Append(' ');
                        }
                        text.Append(line.Text).Append('\n');
                    }
                    after = lines[^1].LineNo;
                    await context.Response.WriteAsync(text.ToString(), ct);
                    await context.Response.Body.FlushAsync(ct);
                    continue;
                }
                if (!follow)
                {
                    break;
                }
                var task = await store.GetTaskAsync(taskId, withEvents: false, ct);
                if (task is null || task.Status.IsTerminal())
                {
                    // Lines are stored before the attempt completes, so one more read empties the log.
                    if ((await store.ReadLogsAsync(taskId, after, 1, ct)).Count == 0)
                    {
                        break;
                    }
                    continue;
                }
                await changed.WaitAsync(TimeSpan.FromSeconds(1), ct).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static async Task<IResult> ResultAsync(string taskId, HttpContext context, TaskService service, ITaskStore store)
    {
        if (await service.GetAsync(taskId, context.GetPrincipal(), withEvents: false, context.RequestAborted) is null)
        {
            return NotFound(taskId);
        }
        var result = await store.GetResultAsync(taskId, context.RequestAborted);
        if (result is null)
        {
            return Problems.NotFound($"task {taskId} has no result yet: no attempt has finished");
        }
        return TypedResults.Ok(new ResultDocument(result.ExitCode, result.StdoutTail, result.StderrTail,
            new UsageDocument(result.Usage.WallMs, result.Usage.CpuMs, result.Usage.PeakMemoryBytes),
            result.Artifacts.Select(a => new ArtifactDocument(a.Path, a.Size)).ToList()));
    }

    private static async Task<IResult> ArtifactAsync(string taskId, string path, HttpContext context, TaskService service, ITaskStore store)
    {
        if (await service.GetAsync(taskId, context.GetPrincipal(), withEvents: false, context.RequestAborted) is null)
        {
            return NotFound(taskId);
        }
        if (path.Length == 0 || path.StartsWith('/') || path.Split('/').Any(p => p is ".." or "." or "") || path.Contains('\\', StringComparison.Ordinal))
        {
            return Problems.Field("path", "must be a relative path inside the task's output, without '.' or '..' segments");
        }
        var result = await store.GetResultAsync(taskId, context.RequestAborted);
        var file = result is null ? null : Artifacts.Resolve(result, path);
        if (file is null)
        {
            return Problems.NotFound($"task {taskId} has no artifact '{path}'");
        }
        return TypedResults.PhysicalFile(file, "application/octet-stream", Path.GetFileName(file));
    }

    private static async Task<IResult> DeadLetterAsync(HttpContext context, TaskService service)
    {
        var errors = new ValidationErrors();
        var limit = QueryParameters.Int(context.Request.Query, "limit", 1, MaxPageSize, errors) ?? DefaultPageSize;
        var cursor = QueryParameters.Cursor(context.Request.Query, errors);
        if (!errors.IsValid)
        {
            return Problems.Validation(errors);
        }
        var page = await service.ListDeadLetteredAsync(context.GetPrincipal(), cursor, limit, context.RequestAborted);
        return TypedResults.Ok(ToListDocument(page));
    }

    private static async Task<IResult> RedriveAsync(string taskId, HttpContext context, TaskService service)
    {
        var outcome = await service.RedriveAsync(taskId, context.GetPrincipal(), context.RequestAborted);
        return outcome.Result switch
        {
            TransitionResult.NotFound => NotFound(taskId),
            TransitionResult.Conflict => Problems.Conflict($"task {taskId} is not in the dead-letter queue (status {outcome.Task!.Status.ToWire()})"),
            _ => TypedResults.Ok(TaskDocument.From(outcome.Task!, withEvents: false)),
        };
    }

    private static TaskListDocument ToListDocument(TaskPage page) =>
        new(page.Items.Select(t => TaskDocument.From(t, withEvents: false)).ToList(),
            page.NextCursor?.ToString(CultureInfo.InvariantCulture));

    private static IResult NotFound(string taskId) => Problems.NotFound($"taskId: no task '{Problems.Shorten(taskId)}'");
}
