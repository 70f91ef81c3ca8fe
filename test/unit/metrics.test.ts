/**
 * The `--metrics` endpoint: the strict exposition-format parser the other tests lean on (it must be able to
 * fail), the Prometheus text of runs and hosts, listen addresses, and the read-only HTTP server.
 */
import { request, Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsText, formatValue, RUN_STATUSES, type MetricsInput } from '../../src/metrics/prometheusText.js';
import { parseListenAddress, startMetricsServer, type MetricsServer } from '../../src/metrics/metricsServer.js';
import type { GpuJson, JsonSnapshot } from '../../src/view/snapshot.js';
import { parsePromText, type PromText } from '../helpers/promText.js';

const MIB = 1048576;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function snapshot(overrides: Partial<JsonSnapshot> = {}): JsonSnapshot {
  return {
    name: null, status: 'starting', phase: null, step: null, totalSteps: null, loss: null, lossSmoothed: null, lr: null,
    secondsPerStep: null, etaSeconds: null, targetStep: 0, etaTargetSeconds: null, finishAt: null, lastCheckpoint: null,
    checkpoints: [], samples: [], error: null, lora: null, gpu: null, gpus: [], triggerWord: null, resume: null,
    nextSave: null, nextSample: null, warnings: 0, ...overrides,
  };
}

function gpu(overrides: Partial<GpuJson> = {}): GpuJson {
  return {
    index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 18637, memoryTotalMiB: 81559, utilizationPercent: 57,
    temperatureC: 61, powerW: 312.5, powerLimitW: 700, clockMHz: 1980, processMemoryMiB: null, ...overrides,
  };
}

/** The value of the one sample of `family` whose labels include `labels`. */
function valueOf(parsed: PromText, family: string, labels: Record<string, string>): number | undefined {
  const matches = (parsed.families.get(family)?.samples ?? [])
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(matches.length).toBeLessThanOrEqual(1);
  return matches[0]?.value;
}

describe('strict exposition parser', () => {
  it('accepts the documented forms', () => {
    const text = [
      '# A comment that is not HELP or TYPE',
      '# HELP http_requests_total The total number of HTTP requests, a \\\\ and a \\n.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400",} 3 1395066363000',
      '',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      '  metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'minus_inf -Inf',
      'not_a_number NaN',
      'hex_value 0x1.8p1',
      'spaced { a = "1" ,\tb="x y" } \t 5  ',
      'empty_braces{} 1',
      '# TYPE latency histogram',
      'latency_bucket{le="0.1"} 2',
      'latency_bucket{le="+Inf"} 3',
      'latency_sum 0.25',
      'latency_count 3',
      '',
    ].join('\n');
    const parsed = parsePromText(text);
    const requests = parsed.families.get('http_requests_total')!;
    expect(requests.help).toBe('The total number of HTTP requests, a \\ and a \n.');
    expect(requests.type).toBe('counter');
    expect(requests.samples).toEqual([
      { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestamp: 1395066363000 },
      { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestamp: 1395066363000 },
    ]);
    expect(parsed.families.get('msdos_file_access_time_seconds')!.samples[0]!.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(valueOf(parsed, 'msdos_file_access_time_seconds', {})).toBe(1458255915);
    expect(valueOf(parsed, 'metric_without_timestamp_and_labels', {})).toBe(12.47);
    expect(valueOf(parsed, 'something_weird', {})).toBe(Infinity);
    expect(valueOf(parsed, 'minus_inf', {})).toBe(-Infinity);
    expect(valueOf(parsed, 'not_a_number', {})).toBeNaN();
    expect(valueOf(parsed, 'hex_value', {})).toBe(3);
    expect(parsed.families.get('spaced')!.samples[0]!.labels).toEqual({ a: '1', b: 'x y' });
    expect(parsed.families.get('latency')!.samples.map((s) => s.name)).toEqual(['latency_bucket', 'latency_bucket', 'latency_sum', 'latency_count']);
    expect(parsePromText('').families.size).toBe(0);
    expect(parsePromText(utf8('a{x="é"} 1\n')).families.get('a')!.samples[0]!.labels.x).toBe('é');
  });

  const malformed: Array<[string, string | Uint8Array, RegExp]> = [
    ['no line feed at the end', 'a 1', /last line does not end/],
    ['an unknown label escape', 'a{x="\\t"} 1\n', /unknown escape \\t/],
    ['a backslash ending the label value', 'a{x="\\"} 1\n', /unterminated/],
    ['an unterminated quote', 'a{x="y} 1\n', /unterminated/],
    ['a raw line feed in a label value', 'a{x="y\nz"} 1\n', /unterminated/],
    ['unclosed braces', 'a{x="y" 1\n', /expected , or }/],
    ['a missing comma', 'a{x="1" y="2"} 1\n', /expected , or }/],
    ['an unquoted label value', 'a{x=1} 1\n', /not quoted/],
    ['a missing =', 'a{x"1"} 1\n', /no = after/],
    ['a duplicate label name', 'a{x="1",x="2"} 1\n', /label x twice/],
    ['a bad label name', 'a{1x="1"} 1\n', /bad or missing label name/],
    ['a reserved label name', 'a{__name__="b"} 1\n', /reserved/],
    ['a bad metric name', '1a 1\n', /must start with a metric name/],
    ['a name glued to junk', 'a-b 1\n', /no blank after the metric name/],
    ['TYPE after the samples', 'a 1\n# TYPE a gauge\n', /TYPE a after its samples/],
    ['HELP after the samples', 'a 1\n# HELP a text\n', /HELP a after its samples/],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n', /second # TYPE/],
    ['a second HELP', '# HELP a x\n# HELP a y\na 1\n', /second # HELP/],
    ['an unknown type', '# TYPE a gauges\na 1\n', /unknown metric type "gauges"/],
    ['TYPE without a type', '# TYPE a\na 1\n', /unknown metric type ""/],
    ['HELP without a name', '# HELP\n', /without a metric name/],
    ['an unknown HELP escape', '# HELP a bad \\t escape\na 1\n', /unknown escape \\t in # HELP/],
    ['a family in two groups', 'a{x="1"} 1\nb 1\na{x="2"} 2\n', /not one group/],
    ['HELP of a family already closed', 'a 1\nb 1\n# HELP a late\n', /not one group/],
    ['a duplicate series', 'a{x="1",y="2"} 1\na{y="2",x="1"} 3\n', /same series/],
    ['a duplicate series without labels', 'a 1\na 2\n', /same series/],
    ['no value', 'a\n', /no value/],
    ['a word for a value', 'a one\n', /bad value "one"/],
    ['an underscore in a value', 'a 1_000\n', /bad value/],
    ['a signed NaN', 'a +NaN\n', /bad value/],
    ['a value out of range', 'a 1e400\n', /out of range/],
    ['a hex value without exponent', 'a 0x1\n', /bad value/],
    ['a float timestamp', 'a 1 1.5\n', /bad timestamp/],
    ['a timestamp out of range', 'a 1 9223372036854775808\n', /timestamp .* out of range/],
    ['something after the timestamp', 'a 1 2 3\n', /after the value/],
    ['a carriage return line end', 'a 1\r\n', /bad value/],
    ['a lone surrogate', 'a{x="\ud800"} 1\n', /lone surrogate/],
    ['bytes that are not UTF-8', Uint8Array.of(...utf8('a 1\nb{x="'), 0xff, ...utf8('"} 1\n')), /^line 2: not valid UTF-8/],
  ];
  it.each(malformed)('rejects %s', (_, text, problem) => {
    expect(() => parsePromText(text)).toThrow(/^line \d+: /);
    expect(() => parsePromText(text)).toThrow(problem);
  });

  it('names the line at fault', () => {
    expect(() => parsePromText('# HELP a x\na 1\n\nb{y="\\q"} 2\n')).toThrow(/^line 4: unknown escape/);
  });
});

describe('metricsText', () => {
  const awkwardName = 'my "lora" C:\\runs\\x\nsecond line';
  const input: MetricsInput = {
    runs: [
      {
        host: 'gpu-box',
        path: '/data/output/flux_lora',
        snapshot: snapshot({
          name: 'flux_lora', status: 'training', step: 1200, totalSteps: 3000, loss: 0.4123, lossSmoothed: 0.40115,
          lr: 0.0001, secondsPerStep: 2.4137, etaSeconds: 4344.7, lastCheckpoint: { step: 1000, path: '/data/output/flux_lora/flux_lora_000001000.safetensors' },
        }),
      },
      { host: 'local', path: '/home/me/output/awkward', snapshot: snapshot({ name: awkwardName, status: 'saving', step: 50, lr: 1e-7 }) },
      { host: 'local', path: '/home/me/output/unnamed_run/', snapshot: snapshot({ status: 'completed', lastCheckpoint: { step: null, path: 'x.safetensors' } }) },
    ],
    hosts: [
      { host: 'local', up: true, gpus: [gpu({ index: 1, name: 'NVIDIA RTX 4090' }), gpu({ index: 0, name: 'NVIDIA RTX 4090', powerW: null })] },
      { host: 'gpu-box', up: false, gpus: [] },
    ],
  };

  it('gives text that parses strictly, every family a gauge with HELP', () => {
    const text = metricsText(input);
    const parsed = parsePromText(text);
    expect([...parsed.families.keys()]).toEqual([
      'lora_top_run_step', 'lora_top_run_total_steps', 'lora_top_run_loss', 'lora_top_run_loss_smoothed',
      'lora_top_run_seconds_per_step', 'lora_top_run_eta_seconds', 'lora_top_run_last_checkpoint_step',
      'lora_top_run_learning_rate', 'lora_top_run_status', 'lora_top_host_up',
      'lora_top_gpu_memory_used_bytes', 'lora_top_gpu_memory_total_bytes', 'lora_top_gpu_utilization_ratio',
      'lora_top_gpu_temperature_celsius', 'lora_top_gpu_power_watts', 'lora_top_gpu_power_limit_watts',
    ]);
    for (const family of parsed.families.values()) {
      expect(family.type).toBe('gauge');
      expect(family.help).toMatch(/\S/);
      expect(family.samples.length).toBeGreaterThan(0);
    }
    expect(text).not.toMatch(/NaN|Inf/);
  });

  it('labels each run by host, name and path, and carries its figures', () => {
    const parsed = parsePromText(metricsText(input));
    const flux = { host: 'gpu-box', run: 'flux_lora', path: '/data/output/flux_lora' };
    expect(valueOf(parsed, 'lora_top_run_step', flux)).toBe(1200);
    expect(valueOf(parsed, 'lora_top_run_total_steps', flux)).toBe(3000);
    expect(valueOf(parsed, 'lora_top_run_loss', flux)).toBe(0.4123);
    expect(valueOf(parsed, 'lora_top_run_loss_smoothed', flux)).toBe(0.40115);
    expect(valueOf(parsed, 'lora_top_run_learning_rate', flux)).toBe(0.0001);
    expect(valueOf(parsed, 'lora_top_run_seconds_per_step', flux)).toBe(2.4137);
    expect(valueOf(parsed, 'lora_top_run_eta_seconds', flux)).toBe(4344.7);
    expect(valueOf(parsed, 'lora_top_run_last_checkpoint_step', flux)).toBe(1000);
    expect(parsed.families.get('lora_top_run_step')!.samples[0]!.labels).toEqual(flux);
    // No name: the folder's last part; a final checkpoint (step null) has no step sample.
    const unnamed = { host: 'local', run: 'unnamed_run', path: '/home/me/output/unnamed_run/' };
    expect(valueOf(parsed, 'lora_top_run_status', { ...unnamed, status: 'completed' })).toBe(1);
    expect(valueOf(parsed, 'lora_top_run_last_checkpoint_step', unnamed)).toBeUndefined();
  });

  it('escapes quotes, backslashes and line feeds so the label reads back exactly', () => {
    const text = metricsText(input);
    expect(text).toContain('run="my \\"lora\\" C:\\\\runs\\\\x\\nsecond line"');
    const parsed = parsePromText(text);
    const awkward = parsed.families.get('lora_top_run_step')!.samples.find((s) => s.labels.path === '/home/me/output/awkward')!;
    expect(awkward.labels.run).toBe(awkwardName);
    expect(awkward.value).toBe(50);
    expect(valueOf(parsed, 'lora_top_run_learning_rate', { run: awkwardName })).toBe(1e-7);
  });

  it('replaces other control characters, keeping one sample per line', () => {
    const name = 'tab\there cr\rthere \u001b[31mred\u001b[0m \u0085 \u2028 lone\ud800';
    const text = metricsText({ runs: [{ host: 'h\u0007', path: '/p', snapshot: snapshot({ name, step: 1 }) }], hosts: [] });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    for (const line of text.slice(0, -1).split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{.*\} \S+)$/);
    const parsed = parsePromText(text);
    expect(parsed.families.get('lora_top_run_step')!.samples[0]!.labels).toEqual({
      host: 'h\ufffd', run: 'tab\ufffdhere cr\ufffdthere \ufffd[31mred\ufffd[0m \ufffd \ufffd lone\ufffd', path: '/p',
    });
  });

  it('leaves out every unknown figure, never a NaN', () => {
    const text = metricsText({ runs: [{ host: 'local', path: '/runs/empty', snapshot: snapshot() }], hosts: [{ host: 'local', up: true, gpus: [gpu({
      memoryUsedMiB: null, memoryTotalMiB: null, utilizationPercent: null, temperatureC: null, powerW: null, powerLimitW: null,
    })] }] });
    expect(text).not.toMatch(/NaN/);
    const parsed = parsePromText(text);
    expect([...parsed.families.keys()]).toEqual(['lora_top_run_status', 'lora_top_host_up']);
    expect(parsed.families.get('lora_top_run_status')!.samples).toHaveLength(RUN_STATUSES.length);
    expect(metricsText({ runs: [], hosts: [] })).toBe('');
  });

  it('gives one status sample per status value, 1 only for the current one', () => {
    const runs = RUN_STATUSES.map((status) => ({ host: 'local', path: `/runs/${status}`, snapshot: snapshot({ status }) }));
    const parsed = parsePromText(metricsText({ runs, hosts: [] }));
    const samples = parsed.families.get('lora_top_run_status')!.samples;
    expect(samples).toHaveLength(RUN_STATUSES.length ** 2);
    for (const status of RUN_STATUSES) {
      const ofRun = samples.filter((s) => s.labels.run === status);
      expect(ofRun.map((s) => s.labels.status).sort()).toEqual([...RUN_STATUSES].sort());
      expect(ofRun.filter((s) => s.value === 1).map((s) => s.labels.status)).toEqual([status]);
      expect(ofRun.filter((s) => s.value !== 1).every((s) => s.value === 0)).toBe(true);
    }
  });

  it('reports hosts and converts GPU figures to base units', () => {
    const parsed = parsePromText(metricsText(input));
    expect(valueOf(parsed, 'lora_top_host_up', { host: 'local' })).toBe(1);
    expect(valueOf(parsed, 'lora_top_host_up', { host: 'gpu-box' })).toBe(0);
    const gpu0 = { host: 'local', gpu: '0', name: 'NVIDIA RTX 4090' };
    expect(valueOf(parsed, 'lora_top_gpu_memory_used_bytes', gpu0)).toBe(18637 * MIB);
    expect(valueOf(parsed, 'lora_top_gpu_memory_total_bytes', gpu0)).toBe(81559 * MIB);
    expect(valueOf(parsed, 'lora_top_gpu_utilization_ratio', gpu0)).toBe(0.57);
    expect(valueOf(parsed, 'lora_top_gpu_temperature_celsius', gpu0)).toBe(61);
    expect(valueOf(parsed, 'lora_top_gpu_power_limit_watts', gpu0)).toBe(700);
    expect(valueOf(parsed, 'lora_top_gpu_power_watts', gpu0)).toBeUndefined();
    expect(valueOf(parsed, 'lora_top_gpu_power_watts', { ...gpu0, gpu: '1' })).toBe(312.5);
    expect(parsed.families.get('lora_top_gpu_memory_used_bytes')!.samples.map((s) => s.labels.gpu)).toEqual(['0', '1']);
  });

  it('is deterministic: the same text whatever the input order', () => {
    const reversed: MetricsInput = {
      runs: [...input.runs].reverse(),
      hosts: [...input.hosts].reverse().map((h) => ({ ...h, gpus: [...h.gpus].reverse() })),
    };
    expect(metricsText(reversed)).toBe(metricsText(input));
    const gpus = [10, 2, 1].map((index) => gpu({ index }));
    const order = parsePromText(metricsText({ runs: [], hosts: [{ host: 'h', up: true, gpus }] }))
      .families.get('lora_top_gpu_temperature_celsius')!.samples.map((s) => s.labels.gpu);
    expect(order).toEqual(['1', '2', '10']);
  });

  it('keeps the first of two entries with the same labels, so no series repeats', () => {
    const run = { host: 'local', path: '/runs/a', snapshot: snapshot({ step: 1 }) };
    const host = { host: 'local', up: true, gpus: [gpu(), gpu({ temperatureC: 99 })] };
    const parsed = parsePromText(metricsText({ runs: [run, { ...run, snapshot: snapshot({ step: 2 }) }], hosts: [host, { ...host, up: false }] }));
    expect(parsed.families.get('lora_top_run_step')!.samples.map((s) => s.value)).toEqual([1]);
    expect(parsed.families.get('lora_top_host_up')!.samples.map((s) => s.value)).toEqual([1]);
    expect(parsed.families.get('lora_top_gpu_temperature_celsius')!.samples.map((s) => s.value)).toEqual([61]);
  });

  it('spells values as Go reads them', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(-0)).toBe('0');
    expect(formatValue(0.1)).toBe('0.1');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(NaN)).toBe('NaN');
    for (const value of [1e-7, 1e21, 85899345920, 0.30000000000000004, -2.5e-300]) {
      const text = `a ${formatValue(value)}\n`;
      expect(parsePromText(text).families.get('a')!.samples[0]!.value).toBe(value);
    }
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['9100', { host: '127.0.0.1', port: 9100 }],
    ['0', { host: '127.0.0.1', port: 0 }],
    ['0.0.0.0:9100', { host: '0.0.0.0', port: 9100 }],
    ['[::1]:9100', { host: '::1', port: 9100 }],
    ['[::]:65535', { host: '::', port: 65535 }],
    ['localhost:9100', { host: 'localhost', port: 9100 }],
    ['gpu-box.lan:8080', { host: 'gpu-box.lan', port: 8080 }],
  ])('reads %s', (spec, expected) => {
    expect(parseListenAddress(spec)).toEqual(expected);
  });

  it.each([
    ['abc', /not a port or ADDR:PORT/],
    ['70000', /out of range/],
    [':', /address is missing/],
    [':9100', /address is missing/],
    ['1.2.3.4:', /port is missing/],
    ['1.2.3.4:http', /not a number/],
    ['1.2.3.4:-1', /not a number/],
    ['127.0.0.1:70000', /out of range/],
    ['::1:9100', /in brackets/],
    ['[nope]:9100', /not an IPv6 address/],
    ['1.2.3.400:9100', /not an IPv4 address or host name/],
    ['bad host:9100', /not an IPv4 address or host name/],
    ['', /not a port/],
    ['9100\n', /not a port/],
  ])('rejects %j', (spec, problem) => {
    const parsed = parseListenAddress(spec);
    expect(parsed).toHaveProperty('error');
    const { error } = parsed as { error: string };
    expect(error).toMatch(problem);
    expect(error).not.toMatch(/\n/);
  });
});

describe('metrics server', () => {
  const servers: MetricsServer[] = [];
  let collected = 0;
  const input: MetricsInput = {
    runs: [{ host: 'local', path: '/runs/a', snapshot: snapshot({ name: 'run "a"', status: 'training', step: 7 }) }],
    hosts: [{ host: 'local', up: true, gpus: [gpu()] }],
  };
  const start = async (collect: () => MetricsInput = () => {
    collected += 1;
    return input;
  }): Promise<MetricsServer> => {
    const server = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, collect });
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    collected = 0;
  });

  it('serves /metrics in the text format on the port it bound', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(server.url).not.toMatch(/:0\//);
    const response = await fetch(`${server.url}?name[]=x&debug=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(bytes.length);
    const parsed = parsePromText(bytes);
    expect(valueOf(parsed, 'lora_top_run_step', { run: 'run "a"' })).toBe(7);
    expect(valueOf(parsed, 'lora_top_run_status', { status: 'training' })).toBe(1);
    expect(collected).toBe(1);
  });

  it('answers HEAD with the headers and no body', async () => {
    const server = await start();
    const full = await (await fetch(server.url)).arrayBuffer();
    const response = await fetch(server.url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Number(response.headers.get('content-length'))).toBe(full.byteLength);
    expect(await response.text()).toBe('');
  });

  it('points / at /metrics and answers 404 elsewhere', async () => {
    const server = await start();
    const base = server.url.replace(/\/metrics$/, '');
    const root = await fetch(`${base}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('/metrics');
    for (const path of ['/other', '/metrics/', '/metricsx', '/METRICS']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(404);
      await response.arrayBuffer();
    }
    expect(collected).toBe(0);
  });

  it('refuses other methods with 405 and does not collect', async () => {
    const server = await start();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(server.url, { method, body: method === 'POST' || method === 'PUT' ? 'step=9999' : undefined });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      await response.arrayBuffer();
    }
    expect(collected).toBe(0);
    const parsed = parsePromText(new Uint8Array(await (await fetch(server.url)).arrayBuffer()));
    expect(valueOf(parsed, 'lora_top_run_step', {})).toBe(7);
    expect(collected).toBe(1);
  });

  it('answers 500 in one line when collecting fails, and keeps serving', async () => {
    let fail = true;
    const server = await start(() => {
      if (fail) throw new Error('state\nunavailable');
      return input;
    });
    const broken = await fetch(server.url);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe('cannot collect the figures: state unavailable\n');
    fail = false;
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('rejects a second server on the same port with a one-line message', async () => {
    const first = await start();
    const port = Number(new URL(first.url).port);
    const second = startMetricsServer({ listen: { host: '127.0.0.1', port }, collect: () => input });
    await expect(second).rejects.toThrow(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: address in use$`));
  });

  it('closes promptly with an idle keep-alive connection open, and twice is fine', async () => {
    const server = await start();
    const agent = new Agent({ keepAlive: true });
    // Wrapped in an object: resolving with a bare promise would wait for that promise.
    const { socketClosed } = await new Promise<{ socketClosed: Promise<void> }>((resolve, reject) => {
      const req = request(server.url, { agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ socketClosed: new Promise<void>((done) => req.socket!.once('close', () => done())) }));
      });
      req.on('error', reject);
      req.end();
    });
    const started = performance.now();
    await server.close();
    await socketClosed;
    expect(performance.now() - started).toBeLessThan(1500);
    await server.close();
    agent.destroy();
  });
});
