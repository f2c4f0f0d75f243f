// A small tool-using agent on the OpenAI Agents SDK for JavaScript (@openai/agents, pinned in
// package.json; none of its code was written here). tests/test_agent.c runs it through
// `agentperf proxy`: OPENAI_BASE_URL points at the proxy, OPENAI_API_KEY is a planted key.
// Two runs of the same agent, one not streamed and one streamed; each is a tool call
// (get_weather) and then the final answer, so the capture holds two kinds of call.
import OpenAI from 'openai';
import {
  Agent,
  run,
  tool,
  setDefaultOpenAIClient,
  setOpenAIAPI,
  setTracingDisabled,
} from '@openai/agents';

setTracingDisabled(true); // no trace export: nothing leaves this machine
setOpenAIAPI('chat_completions'); // the protocol agentperf proxy captures
setDefaultOpenAIClient(
  new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY }),
);

const getWeather = tool({
  name: 'get_weather',
  description: 'The current weather in a city.',
  parameters: {
    type: 'object',
    properties: {
      location: { type: 'string', description: 'city name' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['location', 'unit'],
    additionalProperties: false,
  },
  strict: true,
  execute: async ({ location, unit }) => `18 degrees ${unit} and sunny in ${location}`,
});

const agent = new Agent({
  name: 'Weather assistant',
  instructions:
    'You are a weather assistant. Call get_weather for the city asked about, then answer in one sentence.',
  model: process.env.AGENT_MODEL || 'gpt-4o',
  tools: [getWeather],
  // Kept in the capture and so in the replay: a short answer, near-deterministic sampling.
  modelSettings: { maxTokens: 48, temperature: 0 },
});

const plain = await run(agent, 'What is the weather in Paris?');
console.log(`run 1: ${plain.finalOutput}`);
const streamed = await run(agent, 'What is the weather in Paris today?', { stream: true });
for await (const _event of streamed) {
  // events arrive as the proxy passes them on
}
await streamed.completed;
console.log(`run 2: ${streamed.finalOutput}`);
