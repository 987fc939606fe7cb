import { DataSourceSettings } from '@grafana/data';
import { fireEvent, render, screen } from '@testing-library/react';
import React, { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import { VllmOptions, VllmSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

type Settings = DataSourceSettings<VllmOptions, VllmSecureJsonData>;

function settings(patch: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'vllm-uid',
    orgId: 1,
    name: 'vLLM',
    type: 'vllm-grafana-datasource',
    typeName: 'vLLM',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...patch,
  };
}

/** Renders the editor under a parent that keeps its changes, as Grafana does. */
function renderStateful(initial: Settings) {
  const onChange = vi.fn();
  function Host() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(next) => {
          onChange(next);
          setOptions(next);
        }}
      />
    );
  }
  render(<Host />);
  const last = (): Settings => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { onChange, last };
}

describe('ConfigEditor', () => {
  it('switches mode and edits the Prometheus URL', () => {
    const { last } = renderStateful(settings());
    fireEvent.change(screen.getByPlaceholderText('http://prometheus:9090'), {
      target: { value: 'http://prometheus:9090' },
    });
    expect(last().url).toBe('http://prometheus:9090');
    fireEvent.click(screen.getByLabelText('Direct'));
    expect(last().jsonData).toEqual({ mode: 'direct' });
    expect(last().url).toBe('http://prometheus:9090');
  });

  it('adds, validates, normalises and removes direct-mode targets', () => {
    const { last } = renderStateful(settings({ jsonData: { mode: 'direct' } }));
    fireEvent.click(screen.getByRole('button', { name: /Add target/ }));
    expect(last().jsonData.targets).toEqual(['']);

    const first = screen.getByLabelText('Target 1');
    fireEvent.change(first, { target: { value: 'http://10.0.0.5:8000' } });
    fireEvent.blur(first);
    expect(last().jsonData).toEqual({ mode: 'direct', targets: ['http://10.0.0.5:8000/metrics'] });

    fireEvent.click(screen.getByRole('button', { name: /Add target/ }));
    const second = screen.getByLabelText('Target 2');
    fireEvent.change(second, { target: { value: 'ftp://10.0.0.6/metrics' } });
    expect(screen.getByText('Scheme "ftp" cannot be scraped: use http:// or https://')).toBeTruthy();
    fireEvent.change(second, { target: { value: 'https://10.0.0.6:8000/metrics' } });
    expect(screen.queryByText(/cannot be scraped/)).toBeNull();
    // One vLLM server per host:port, whatever the scheme or path.
    fireEvent.change(second, { target: { value: 'http://10.0.0.5:8000/metrics' } });
    expect(screen.getByText('Same host:port as target 1')).toBeTruthy();
    fireEvent.change(second, { target: { value: '10.0.0.5:8000/other' } });
    expect(screen.getByText('Same host:port as target 1')).toBeTruthy();

    // host:port is accepted and written out in full on blur.
    fireEvent.change(second, { target: { value: '10.0.0.6' } });
    expect(screen.queryByText(/Same host:port/)).toBeNull();
    fireEvent.blur(second);
    expect(last().jsonData.targets).toEqual(['http://10.0.0.5:8000/metrics', 'http://10.0.0.6:8000/metrics']);

    fireEvent.click(screen.getByRole('button', { name: 'Remove target 1' }));
    expect(last().jsonData.targets).toEqual(['http://10.0.0.6:8000/metrics']);
  });

  it('stores timeout, scrape interval, retention, series limit and TLS as jsonData', () => {
    const { last } = renderStateful(settings({ jsonData: { mode: 'direct' } }));
    fireEvent.change(screen.getByPlaceholderText('10'), { target: { value: '15' } });
    expect(last().jsonData.timeout).toBe(15);
    // Longer than the default 10s scrape interval: refused by the backend, flagged here.
    expect(screen.getByText(/Longer than the scrape interval \(10s\)/)).toBeTruthy();
    fireEvent.change(screen.getByPlaceholderText('10s'), { target: { value: '5s' } });
    expect(last().jsonData.scrapeInterval).toBe('5s');
    expect(last().jsonData.timeInterval).toBe('5s');
    fireEvent.change(screen.getByPlaceholderText('6h'), { target: { value: '12h' } });
    expect(last().jsonData.retention).toBe('12h');
    fireEvent.change(screen.getByPlaceholderText('50000'), { target: { value: '20000' } });
    expect(last().jsonData.seriesLimit).toBe(20000);
    fireEvent.click(screen.getByLabelText(/^Skip TLS verification/));
    expect(last().jsonData).toEqual({
      mode: 'direct',
      timeout: 15,
      scrapeInterval: '5s',
      timeInterval: '5s',
      retention: '12h',
      seriesLimit: 20000,
      tlsSkipVerify: true,
    });
  });

  it('flags invalid numbers and durations without storing them', () => {
    const { last } = renderStateful(settings({ jsonData: { mode: 'direct' } }));
    fireEvent.change(screen.getByPlaceholderText('10'), { target: { value: '0' } });
    expect(screen.getByText('Enter a number of seconds from 1 to 3600')).toBeTruthy();
    expect(last().jsonData.timeout).toBeUndefined();
    fireEvent.change(screen.getByPlaceholderText('10s'), { target: { value: 'often' } });
    expect(screen.getByText('Use a duration such as 10s or 1m')).toBeTruthy();
  });

  it('shows, validates and stores the direct-mode limits', () => {
    const { last } = renderStateful(
      settings({ jsonData: { mode: 'direct', seriesLimit: 100, maxBodyBytes: 2048, maxLabelValueBytes: 512 } })
    );
    const body = document.getElementById('config-max-body-bytes') as HTMLInputElement;
    const label = document.getElementById('config-max-label-value-bytes') as HTMLInputElement;
    const series = document.getElementById('config-series-limit') as HTMLInputElement;
    expect([series.value, body.value, label.value]).toEqual(['100', '2048', '512']);

    fireEvent.change(screen.getByPlaceholderText('16777216'), { target: { value: '1048576' } });
    expect(last().jsonData.maxBodyBytes).toBe(1048576);
    fireEvent.change(screen.getByPlaceholderText('4096'), { target: { value: '8192' } });
    expect(last().jsonData.maxLabelValueBytes).toBe(8192);

    // Invalid values are flagged and not stored (the backend then uses its default).
    fireEvent.change(body, { target: { value: '0' } });
    expect(last().jsonData.maxBodyBytes).toBeUndefined();
    fireEvent.change(label, { target: { value: '1.5' } });
    expect(last().jsonData.maxLabelValueBytes).toBeUndefined();
    expect(screen.getAllByText('Enter a whole number of bytes, at least 1')).toHaveLength(2);
    fireEvent.change(series, { target: { value: '-3' } });
    expect(screen.getByText('Enter a whole number of series, at least 1')).toBeTruthy();
    expect(last().jsonData.seriesLimit).toBeUndefined();

    // Clearing a field is valid: the default applies.
    fireEvent.change(body, { target: { value: '' } });
    expect(screen.getAllByText('Enter a whole number of bytes, at least 1')).toHaveLength(1);
    expect(last().jsonData).toEqual({ mode: 'direct' });
  });

  it('puts secrets in secureJsonData only', () => {
    const { last } = renderStateful(settings({ url: 'http://prometheus:9090' }));
    fireEvent.change(screen.getByLabelText(/^Basic auth user/), { target: { value: 'grafana' } });
    expect(last().jsonData).toEqual({ basicAuthUser: 'grafana' });
    fireEvent.change(screen.getByPlaceholderText('Password'), { target: { value: 's3cret' } });
    expect(last().secureJsonData).toEqual({ basicAuthPassword: 's3cret' });
    expect(last().jsonData).toEqual({ basicAuthUser: 'grafana' });
    expect(JSON.stringify(last().jsonData)).not.toContain('s3cret');
  });

  it('stores a bearer token as a secret', () => {
    const onOptionsChange = vi.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('Token'), { target: { value: 'tok' } });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ jsonData: {}, secureJsonData: { bearerToken: 'tok' } })
    );
  });

  it('shows configured secrets only as configured, and resets them', () => {
    const onOptionsChange = vi.fn();
    render(
      <ConfigEditor
        options={settings({
          jsonData: { basicAuthUser: 'grafana' },
          secureJsonFields: { basicAuthPassword: true, bearerToken: false },
        })}
        onOptionsChange={onOptionsChange}
      />
    );
    const password = document.getElementById('config-basic-auth-password') as HTMLInputElement;
    expect(password.disabled).toBe(true);
    expect(password.value).toBe('configured');
    expect(screen.getAllByRole('button', { name: 'Reset' })).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({
        secureJsonFields: { basicAuthPassword: false, bearerToken: false },
        secureJsonData: { basicAuthPassword: '' },
      })
    );
  });

  it('stores TLS client authentication: tlsAuth in jsonData, certificate and key as secrets', () => {
    const { last } = renderStateful(settings({ url: 'https://prometheus:9090' }));
    expect(document.getElementById('config-tls-client-cert')).toBeNull();
    fireEvent.click(document.getElementById('config-tls-auth')!);
    expect(last().jsonData).toEqual({ tlsAuth: true });
    // Both parts are required, as the backend requires them.
    expect(screen.getByText(/Required for TLS client authentication: paste the PEM certificate/)).toBeTruthy();
    expect(screen.getByText(/Required for TLS client authentication: paste the PEM private key/)).toBeTruthy();
    const cert = document.getElementById('config-tls-client-cert')!;
    fireEvent.change(cert, { target: { value: 'not pem' } });
    expect(screen.getByText(/Not a PEM certificate/)).toBeTruthy();
    const pemCert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const pemKey = '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----';
    fireEvent.change(cert, { target: { value: pemCert } });
    fireEvent.change(document.getElementById('config-tls-client-key')!, { target: { value: pemKey } });
    expect(screen.queryByText(/Not a PEM|Required for TLS client/)).toBeNull();
    expect(last().secureJsonData).toEqual({ tlsClientCert: pemCert, tlsClientKey: pemKey });
    expect(JSON.stringify(last().jsonData)).not.toContain('BEGIN');
  });

  it('accepts TLS client credentials stored earlier without asking again', () => {
    render(
      <ConfigEditor
        options={settings({ jsonData: { tlsAuth: true }, secureJsonFields: { tlsClientCert: true, tlsClientKey: true } })}
        onOptionsChange={vi.fn()}
      />
    );
    expect(screen.queryByText(/Required for TLS client/)).toBeNull();
    expect((document.getElementById('config-tls-client-key') as HTMLTextAreaElement).disabled).toBe(true);
  });

  it('has help text for every setting', () => {
    render(<ConfigEditor options={settings({ jsonData: { mode: 'direct' } })} onOptionsChange={vi.fn()} />);
    for (const text of [
      /the plugin scrapes vLLM's \/metrics endpoints/,
      /or host:port \(plain http; port 8000 when none is given\)/,
      /A target without a path gets \/metrics/,
      /How often the plugin scrapes each target/,
      /kept in memory for queries/,
      /Most samples accepted from one scrape of one target/,
      /Largest metrics page accepted from one target/,
      /Longest label value accepted/,
      /Seconds to wait for each request/,
      /HTTP basic authentication/,
      /Stored encrypted by Grafana and never shown again/,
      /Authorization: Bearer/,
      /Accept any server certificate/,
    ]) {
      expect(screen.getByText(text)).toBeTruthy();
    }
  });
});
