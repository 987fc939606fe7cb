import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import {
  Alert,
  Button,
  Field,
  FieldSet,
  IconButton,
  Input,
  RadioButtonGroup,
  SecretInput,
  SecretTextArea,
  Stack,
  Switch,
} from '@grafana/ui';
import React, { useState } from 'react';

import { checkQueryParameters, checkTarget, checkTargets, durationSeconds, isDuration } from '../targets';
import { Mode, VllmOptions, VllmSecureJsonData } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<VllmOptions, VllmSecureJsonData>;

type SecretKey = keyof VllmSecureJsonData;

const MODE_OPTIONS: Array<SelectableValue<Mode>> = [
  { label: 'Prometheus', value: 'prometheus', description: 'Query a Prometheus server that scrapes vLLM' },
  { label: 'Direct', value: 'direct', description: 'Scrape vLLM /metrics endpoints from the plugin' },
];

const WIDTH = 48;

function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === '') {
    return undefined;
  }
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A whole number of at least 1: the text as typed, or why it is invalid. */
function wholeNumberError(text: string, unit: string): string | undefined {
  const n = numberOrUndefined(text);
  return text.trim() !== '' && (n === undefined || !Number.isInteger(n) || n < 1)
    ? `Enter a whole number of ${unit}, at least 1`
    : undefined;
}

interface LimitFieldProps {
  id: string;
  label: string;
  description: string;
  unit: string;
  placeholder: string;
  value: number | undefined;
  onChange: (value: number | undefined) => void;
}

/** A direct-mode limit: a whole number stored only when valid (else unset, i.e. the default). */
function LimitField({ id, label, description, unit, placeholder, value, onChange }: LimitFieldProps) {
  // Raw text while typing ("" must stay editable); only valid numbers are stored.
  const [text, setText] = useState(value === undefined ? '' : String(value));
  const error = wholeNumberError(text, unit);
  return (
    <Field label={label} description={description} invalid={!!error} error={error}>
      <Input
        id={id}
        type="number"
        min={1}
        step={1}
        width={16}
        value={text}
        placeholder={placeholder}
        onChange={(e: React.ChangeEvent<HTMLInputElement>) => {
          const next = e.currentTarget.value;
          setText(next);
          const n = numberOrUndefined(next);
          onChange(wholeNumberError(next, unit) === undefined && n !== undefined ? n : undefined);
        }}
      />
    </Field>
  );
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData ?? {};
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData = options.secureJsonData ?? {};
  const mode: Mode = jsonData.mode === 'direct' ? 'direct' : 'prometheus';
  const targets = jsonData.targets ?? [];
  const targetErrors = checkTargets(targets);
  // Raw text of numeric inputs while typing ("" or "1." must stay editable).
  const [timeoutText, setTimeoutText] = useState(jsonData.timeout === undefined ? '' : String(jsonData.timeout));

  const setJson = (patch: Partial<VllmOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  const setSecret = (key: SecretKey, value: string) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: value } });

  const resetSecret = (key: SecretKey) =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });

  const secretProps = (key: SecretKey) => ({
    isConfigured: !!secureJsonFields[key],
    value: secureJsonData[key] ?? '',
    onReset: () => resetSecret(key),
  });

  const setTargets = (next: string[]) => setJson({ targets: next });

  /** As the backend: with tlsAuth, both parts are required, and PEM. */
  function pemError(key: SecretKey, what: string, label: string): string | undefined {
    const typed = secureJsonData[key] ?? '';
    if (typed.trim() === '') {
      return secureJsonFields[key] ? undefined : `Required for TLS client authentication: paste the PEM ${what}`;
    }
    return new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(typed)
      ? undefined
      : `Not a PEM ${what}: expected a "-----BEGIN ...${label}-----" block`;
  }

  const timeout = numberOrUndefined(timeoutText);
  const interval = jsonData.scrapeInterval ?? jsonData.timeInterval ?? '';
  // As the backend: in direct mode a scrape may not outlast its interval (10s when unset).
  const intervalSeconds = durationSeconds(interval === '' ? '10s' : interval);
  let timeoutError: string | undefined;
  if (timeoutText.trim() !== '' && (timeout === undefined || timeout < 1 || timeout > 3600)) {
    timeoutError = 'Enter a number of seconds from 1 to 3600';
  } else if (mode === 'direct' && timeout !== undefined && intervalSeconds !== undefined && timeout > intervalSeconds) {
    timeoutError = `Longer than the scrape interval (${interval === '' ? '10s' : interval}): lower the timeout or raise the interval`;
  }
  const intervalError = interval !== '' && !isDuration(interval) ? 'Use a duration such as 10s or 1m' : undefined;
  const paramsError = checkQueryParameters(jsonData.customQueryParameters ?? '');
  const retention = jsonData.retention ?? '';
  const retentionError = retention !== '' && !isDuration(retention) ? 'Use a duration such as 6h or 2d' : undefined;
  const basicAuth = !!jsonData.basicAuthUser || !!secureJsonFields.basicAuthPassword || !!secureJsonData.basicAuthPassword;
  const bearer = !!secureJsonFields.bearerToken || !!secureJsonData.bearerToken;
  const tlsAuth = !!jsonData.tlsAuth;
  const clientCertError = tlsAuth ? pemError('tlsClientCert', 'certificate', 'CERTIFICATE') : undefined;
  const clientKeyError = tlsAuth ? pemError('tlsClientKey', 'private key', 'PRIVATE KEY') : undefined;

  return (
    <>
      <FieldSet label="Data source">
        <Field
          label="Mode"
          description="Prometheus: query a Prometheus server that already scrapes vLLM. Direct: the plugin scrapes vLLM's /metrics endpoints itself and keeps recent samples in memory."
        >
          <RadioButtonGroup<Mode> options={MODE_OPTIONS} value={mode} onChange={(m) => setJson({ mode: m })} />
        </Field>

        {mode === 'prometheus' ? (
          <Field
            label="Prometheus URL"
            description="Base URL of the Prometheus server, as the Grafana server reaches it, e.g. http://prometheus:9090."
            invalid={options.url !== '' && !/^https?:\/\/[^/]/i.test(options.url ?? '')}
            error="Must be an http:// or https:// URL"
            required
          >
            <Input
              id="config-url"
              width={WIDTH}
              value={options.url ?? ''}
              placeholder="http://prometheus:9090"
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, url: e.currentTarget.value })}
            />
          </Field>
        ) : (
          <Field
            label="Targets"
            description="vLLM metrics endpoints to scrape, one per row: an http:// or https:// URL such as http://10.0.0.5:8000/metrics, or host:port (plain http; port 8000 when none is given). A target without a path gets /metrics."
          >
            <Stack direction="column" gap={1}>
              {targets.map((target, i) => (
                <Stack key={i} direction="row" gap={1} alignItems="flex-start">
                  <Field invalid={!!targetErrors[i]} error={targetErrors[i]} style={{ marginBottom: 0 }}>
                    <Input
                      aria-label={`Target ${i + 1}`}
                      width={WIDTH}
                      value={target}
                      placeholder="http://10.0.0.5:8000/metrics or 10.0.0.5:8000"
                      onChange={(e: React.ChangeEvent<HTMLInputElement>) =>
                        setTargets(targets.map((t, j) => (j === i ? e.currentTarget.value : t)))
                      }
                      onBlur={() => {
                        const url = checkTarget(target).url;
                        if (url && url !== target) {
                          setTargets(targets.map((t, j) => (j === i ? url : t)));
                        }
                      }}
                    />
                  </Field>
                  <IconButton
                    name="trash-alt"
                    aria-label={`Remove target ${i + 1}`}
                    onClick={() => setTargets(targets.filter((_, j) => j !== i))}
                  />
                </Stack>
              ))}
              <div>
                <Button variant="secondary" icon="plus" size="sm" onClick={() => setTargets([...targets, ''])}>
                  Add target
                </Button>
              </div>
              {targets.length === 0 && <Alert title="Add at least one vLLM endpoint to scrape" severity="info" />}
            </Stack>
          </Field>
        )}

        <Field
          label="Scrape interval"
          description={
            mode === 'direct'
              ? 'How often the plugin scrapes each target, e.g. 10s. Also the smallest query step.'
              : "The Prometheus server's scrape interval, e.g. 15s. Used as the smallest query step and for $__rate_interval."
          }
          invalid={!!intervalError}
          error={intervalError}
        >
          <Input
            id="config-scrape-interval"
            width={16}
            value={interval}
            placeholder={mode === 'direct' ? '10s' : '15s'}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => {
              const v = e.currentTarget.value.trim();
              setJson({ scrapeInterval: v || undefined, timeInterval: v || undefined });
            }}
          />
        </Field>

        {mode === 'prometheus' && (
          <Field
            label="Custom query parameters"
            description="Added to every request to the server, as in a URL: e.g. dedup=true&partial_response=true for Thanos. A Mimir or Cortex tenant goes in a custom header (X-Scope-OrgID) below."
            invalid={!!paramsError}
            error={paramsError}
          >
            <Input
              id="config-custom-query-parameters"
              width={WIDTH}
              value={jsonData.customQueryParameters ?? ''}
              placeholder="dedup=true&partial_response=true"
              onChange={(e: React.ChangeEvent<HTMLInputElement>) =>
                setJson({ customQueryParameters: e.currentTarget.value.trim() || undefined })
              }
            />
          </Field>
        )}

        {mode === 'direct' && (
          <>
            <Field
              label="Retention"
              description="How long scraped samples are kept in memory for queries, e.g. 6h."
              invalid={!!retentionError}
              error={retentionError}
            >
              <Input
                id="config-retention"
                width={16}
                value={retention}
                placeholder="6h"
                onChange={(e: React.ChangeEvent<HTMLInputElement>) =>
                  setJson({ retention: e.currentTarget.value.trim() || undefined })
                }
              />
            </Field>
            <LimitField
              id="config-series-limit"
              label="Series limit"
              description="Most samples accepted from one scrape of one target; a scrape with more is refused and the target marked down."
              unit="series"
              placeholder="50000"
              value={jsonData.seriesLimit}
              onChange={(n) => setJson({ seriesLimit: n })}
            />
            <LimitField
              id="config-max-body-bytes"
              label="Max body size"
              description="Largest metrics page accepted from one target, in bytes (default 16777216, 16 MiB); a larger answer is refused and the target marked down."
              unit="bytes"
              placeholder="16777216"
              value={jsonData.maxBodyBytes}
              onChange={(n) => setJson({ maxBodyBytes: n })}
            />
            <LimitField
              id="config-max-label-value-bytes"
              label="Max label value size"
              description="Longest label value accepted, in bytes (default 4096); a scrape with a longer one is refused and the target marked down."
              unit="bytes"
              placeholder="4096"
              value={jsonData.maxLabelValueBytes}
              onChange={(n) => setJson({ maxLabelValueBytes: n })}
            />
          </>
        )}

        <Field
          label="Timeout"
          description="Seconds to wait for each request to Prometheus (default 30), or in direct mode for each scrape of a target (default: the shorter of 10 s and the scrape interval; never longer than the scrape interval)."
          invalid={!!timeoutError}
          error={timeoutError}
        >
          <Input
            id="config-timeout"
            type="number"
            min={1}
            max={3600}
            width={16}
            value={timeoutText}
            placeholder={mode === 'direct' ? '10' : '30'}
            suffix="s"
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => {
              const text = e.currentTarget.value;
              setTimeoutText(text);
              const n = numberOrUndefined(text);
              setJson({ timeout: n !== undefined && n >= 1 && n <= 3600 ? n : undefined });
            }}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Authentication">
        {basicAuth && bearer && (
          <Alert title="Use either basic auth or a bearer token, not both" severity="warning" />
        )}
        <Field label="Basic auth user" description="User name for HTTP basic authentication. Leave empty for none.">
          <Input
            id="config-basic-auth-user"
            width={WIDTH}
            value={jsonData.basicAuthUser ?? ''}
            autoComplete="off"
            onChange={(e: React.ChangeEvent<HTMLInputElement>) =>
              setJson({ basicAuthUser: e.currentTarget.value || undefined })
            }
          />
        </Field>
        <Field
          label="Basic auth password"
          description="Stored encrypted by Grafana and never shown again; use Reset to replace it."
        >
          <SecretInput
            id="config-basic-auth-password"
            width={WIDTH}
            placeholder="Password"
            {...secretProps('basicAuthPassword')}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setSecret('basicAuthPassword', e.currentTarget.value)}
          />
        </Field>
        <Field
          label="Bearer token"
          description="Sent as 'Authorization: Bearer <token>'. Stored encrypted and never shown again."
        >
          <SecretInput
            id="config-bearer-token"
            width={WIDTH}
            placeholder="Token"
            {...secretProps('bearerToken')}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setSecret('bearerToken', e.currentTarget.value)}
          />
        </Field>
      </FieldSet>

      <FieldSet label="TLS">
        <Field
          label="Skip TLS verification"
          description="Accept any server certificate for https URLs. Insecure: only for testing."
        >
          <Switch
            id="config-tls-skip-verify"
            value={!!jsonData.tlsSkipVerify}
            onChange={(e: React.FormEvent<HTMLInputElement>) => setJson({ tlsSkipVerify: e.currentTarget.checked })}
          />
        </Field>
        <Field
          label="CA certificate"
          description="PEM certificate(s) of a private certificate authority to trust. Stored encrypted."
        >
          <SecretTextArea
            id="config-tls-ca-cert"
            cols={WIDTH}
            rows={4}
            placeholder="-----BEGIN CERTIFICATE-----"
            {...secretProps('tlsCACert')}
            onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setSecret('tlsCACert', e.currentTarget.value)}
          />
        </Field>
        <Field
          label="TLS client authentication"
          description="Present a client certificate to the server (mutual TLS), e.g. a Prometheus or vLLM proxy that requires one."
        >
          <Switch
            id="config-tls-auth"
            value={tlsAuth}
            onChange={(e: React.FormEvent<HTMLInputElement>) => setJson({ tlsAuth: e.currentTarget.checked })}
          />
        </Field>
        {tlsAuth && (
          <>
            <Field
              label="Client certificate"
              description="PEM certificate the plugin presents (with its chain, if any). Stored encrypted."
              invalid={!!clientCertError}
              error={clientCertError}
            >
              <SecretTextArea
                id="config-tls-client-cert"
                cols={WIDTH}
                rows={4}
                placeholder="-----BEGIN CERTIFICATE-----"
                {...secretProps('tlsClientCert')}
                onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setSecret('tlsClientCert', e.currentTarget.value)}
              />
            </Field>
            <Field
              label="Client key"
              description="PEM private key of the client certificate. Stored encrypted and never shown again."
              invalid={!!clientKeyError}
              error={clientKeyError}
            >
              <SecretTextArea
                id="config-tls-client-key"
                cols={WIDTH}
                rows={4}
                placeholder="-----BEGIN PRIVATE KEY-----"
                {...secretProps('tlsClientKey')}
                onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setSecret('tlsClientKey', e.currentTarget.value)}
              />
            </Field>
          </>
        )}
      </FieldSet>
    </>
  );
}
