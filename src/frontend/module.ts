import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { VllmDataSource } from './datasource';
import { VllmOptions, VllmQuery, VllmSecureJsonData } from './types';

export const plugin = new DataSourcePlugin<VllmDataSource, VllmQuery, VllmOptions, VllmSecureJsonData>(VllmDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor)
  .setVariableQueryEditor(VariableQueryEditor);
