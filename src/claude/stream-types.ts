import * as z from "zod";

/**
 * The stream-json messages of `claude -p --output-format stream-json --verbose` that we consume
 * (shapes of @anthropic-ai/claude-agent-sdk's SDKMessage). Lenient: unknown members pass through,
 * only what we read is required, so newer CLI versions keep working.
 */
const Usage = z
  .object({
    input_tokens: z.number().optional(),
    output_tokens: z.number().optional(),
    cache_creation_input_tokens: z.number().nullish(),
    cache_read_input_tokens: z.number().nullish(),
  })
  .passthrough();

const ContentBlock = z
  .object({ type: z.string(), text: z.string().optional(), id: z.string().optional(), name: z.string().optional(), input: z.unknown().optional(), tool_use_id: z.string().optional(), content: z.unknown().optional(), is_error: z.boolean().optional() })
  .passthrough();

export const SystemInitMessage = z
  .object({ type: z.literal("system"), subtype: z.literal("init"), session_id: z.string(), model: z.string(), cwd: z.string(), tools: z.array(z.string()), permissionMode: z.string(), apiKeySource: z.string().optional() })
  .passthrough();

export const ApiRetryMessage = z
  .object({ type: z.literal("system"), subtype: z.literal("api_retry"), attempt: z.number(), max_retries: z.number().optional(), retry_delay_ms: z.number().optional(), error_status: z.number().nullable(), error: z.string().optional() })
  .passthrough();

export const SystemMessage = z.object({ type: z.literal("system"), subtype: z.string() }).passthrough();

export const AssistantMessage = z
  .object({
    type: z.literal("assistant"),
    message: z.object({ id: z.string().optional(), content: z.array(ContentBlock), usage: Usage.optional() }).passthrough(),
    error: z.string().optional(),
    session_id: z.string().optional(),
  })
  .passthrough();

export const UserMessage = z
  .object({ type: z.literal("user"), message: z.object({ content: z.union([z.string(), z.array(ContentBlock)]) }).passthrough(), isSynthetic: z.boolean().optional() })
  .passthrough();

export const RateLimitEvent = z
  .object({ type: z.literal("rate_limit_event"), rate_limit_info: z.object({ status: z.string(), resetsAt: z.number().optional(), rateLimitType: z.string().optional() }).passthrough() })
  .passthrough();

export const PermissionDenial = z.object({ tool_name: z.string(), tool_use_id: z.string().optional(), tool_input: z.unknown().optional() }).passthrough();

export const ResultMessage = z
  .object({
    type: z.literal("result"),
    subtype: z.string(),
    is_error: z.boolean(),
    result: z.string().optional(),
    duration_ms: z.number().optional(),
    num_turns: z.number().optional(),
    session_id: z.string().optional(),
    total_cost_usd: z.number().optional(),
    usage: Usage.optional(),
    permission_denials: z.array(PermissionDenial).optional(),
    structured_output: z.unknown().optional(),
    terminal_reason: z.string().optional(),
    /** HTTP status of the API error that ended the run (null: none). */
    api_error_status: z.number().nullish(),
    /** Newer CLIs: the API's error.type (rate_limit_error, overloaded_error, ...). */
    api_error_type: z.string().nullish(),
    /** Newer CLIs: the CLI's own name for the error (usage_limit_reached, max_output_tokens, ...). */
    api_error: z.string().nullish(),
    /** Error subtypes (error_max_turns, ...): what stopped the run, e.g. "Reached maximum number of turns (1)". */
    errors: z.array(z.string()).optional(),
    /** Per-model totals of the run (the budget counts these: `usage` may hold only the last turn). */
    modelUsage: z
      .record(
        z.string(),
        z.object({ inputTokens: z.number().optional(), outputTokens: z.number().optional(), cacheReadInputTokens: z.number().optional(), cacheCreationInputTokens: z.number().optional() }).passthrough(),
      )
      .optional(),
  })
  .passthrough();

export type SystemInitMessage = z.infer<typeof SystemInitMessage>;
export type ApiRetryMessage = z.infer<typeof ApiRetryMessage>;
export type AssistantMessage = z.infer<typeof AssistantMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type RateLimitEvent = z.infer<typeof RateLimitEvent>;
export type PermissionDenial = z.infer<typeof PermissionDenial>;

/** Every line type we know, for validating a transcript (tests check fake-claude against this). */
export const KnownMessage = z.union([SystemInitMessage, ApiRetryMessage, SystemMessage, AssistantMessage, UserMessage, RateLimitEvent, ResultMessage]);
