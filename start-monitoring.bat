@echo off
REM Bring up the monitoring stack (simulated vLLM, Prometheus, Grafana) with
REM Docker Desktop, wait until Grafana answers, then open it in the browser.
REM Run at sign-in with "start-monitoring.bat /wait": it then waits up to 3
REM minutes for Docker Desktop to start instead of failing at once.
setlocal
cd /d "%~dp0"
if "%GRAFANA_PORT%"=="" set GRAFANA_PORT=3010

where docker >nul 2>&1
if errorlevel 1 (
  echo Docker Desktop is not installed: get it from https://docs.docker.com/desktop/ and run this again.
  goto :failed
)

set /a waited=0
:engine
docker info >nul 2>&1
if not errorlevel 1 goto :compose
if /i not "%~1"=="/wait" goto :noengine
if %waited% geq 180 goto :noengine
timeout /t 5 /nobreak >nul
set /a waited+=5
goto :engine
:noengine
echo Docker Desktop is not running: start it, wait until it says "Engine running", and run this again.
goto :failed

:compose
docker compose version >nul 2>&1
if errorlevel 1 (
  echo Docker Compose is missing: update Docker Desktop, which includes it, and run this again.
  goto :failed
)
echo Building and starting the stack (the first build takes several minutes)...
docker compose up -d --build
if errorlevel 1 (
  echo "docker compose up" failed: its messages are above.
  goto :failed
)

echo Waiting for Grafana on port %GRAFANA_PORT%...
set /a waited=0
:health
curl.exe -fsS -o nul http://127.0.0.1:%GRAFANA_PORT%/api/health >nul 2>&1
if not errorlevel 1 goto :ready
if %waited% geq 300 (
  echo Grafana did not answer within 300 s: see "docker compose logs grafana".
  goto :failed
)
timeout /t 2 /nobreak >nul
set /a waited+=2
goto :health

:ready
echo Grafana:    http://localhost:%GRAFANA_PORT%  (user admin, password admin unless set in .env before the first start)
echo Prometheus: http://localhost:9090
start "" http://localhost:%GRAFANA_PORT%
exit /b 0

:failed
REM Keep the window open so that the message can be read.
pause
exit /b 1
