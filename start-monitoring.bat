@echo off
REM Bring up the monitoring stack (simulated vLLM, Prometheus, Grafana) with Docker Desktop.
cd /d "%~dp0"
docker compose version >nul 2>&1
if errorlevel 1 (
  echo Docker Desktop with Compose is required: https://docs.docker.com/desktop/
  exit /b 1
)
docker compose up -d --build
if errorlevel 1 exit /b 1
echo Grafana:    http://localhost:3010  (user admin, password admin unless set in .env)
echo Prometheus: http://localhost:9090
