# The services of the project on Azure: one user-assigned managed identity per service (the
# capability modules give it exactly what that service's code does, on each resource), a
# container registry reached with Azure AD only (AcrPull for each identity), and a Container
# Apps environment that logs to a Log Analytics workspace: http services as container apps
# (external ingress only when public, HTTPS only), workers as container apps without ingress,
# schedules as Container Apps jobs with a schedule trigger. A service whose image is not set
# yet gets its identity only.

variable "services" {
  description = "Service name -> how it runs; image is a digest reference, empty before the first push."
  type = map(object({
    kind     = string
    image    = string
    port     = number
    health   = string
    public   = bool
    schedule = string
  }))
}

variable "environment_variables" {
  description = "Environment variables every service gets (besides INFRAR_ENVIRONMENT and AZURE_CLIENT_ID)."
  type        = map(string)
  default     = {}
}

variable "location" {
  description = "Azure region of every resource."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "resource_group_name" {
  description = "Resource group to create for the services; empty derives infrar-<project>-<environment>-services."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Days the services' logs are kept."
  type        = number
  default     = 90
}

variable "cpu" {
  description = "vCPU of each container."
  type        = number
  default     = 0.25
}

variable "memory" {
  description = "Memory of each container (goes with cpu: 0.25 with 0.5Gi, 0.5 with 1Gi, ...)."
  type        = string
  default     = "0.5Gi"
}

variable "max_replicas" {
  description = "Most replicas of each http service."
  type        = number
  default     = 10
}

locals {
  tags                = merge(var.tags, { project = var.project, environment = var.environment })
  prefix              = substr(join("-", compact(["infrar", var.project, var.environment])), 0, 20)
  resource_group_name = var.resource_group_name != "" ? var.resource_group_name : join("-", compact(["infrar", var.project, var.environment, "services"]))
  # Registry names are global, letters and digits only.
  registry_name = "infrar${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}/images"), 0, 20)}"
  names         = { for name, service in var.services : name => trimsuffix(substr("${local.prefix}-${name}", 0, 32), "-") }
  deployed      = { for name, service in var.services : name => service if service.image != "" }
  apps          = { for name, service in local.deployed : name => service if service.kind != "schedule" }
  jobs          = { for name, service in local.deployed : name => service if service.kind == "schedule" }
  environment   = merge(var.environment_variables, { INFRAR_ENVIRONMENT = var.environment })
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_user_assigned_identity" "service" {
  for_each = var.services

  name                = "${local.prefix}-${each.key}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = merge(local.tags, { service = each.key })
}

resource "azurerm_container_registry" "this" {
  # checkov:skip=CKV_AZURE_139:The services pull over the public endpoint with Azure AD tokens; a private endpoint needs a virtual network the project may not have.
  # checkov:skip=CKV_AZURE_165:Geo-replication needs the Premium tier and a second region; a per-project choice.
  # checkov:skip=CKV_AZURE_166:Quarantine needs a scanner that releases images; images are referenced by digest instead.
  # checkov:skip=CKV_AZURE_167:Untagged manifests are what digest references point at; they are kept until removed on purpose.
  # checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan.
  # checkov:skip=CKV_AZURE_164:Content trust needs signed pushes; images are pinned by digest, which already fixes their content.
  # checkov:skip=CKV_AZURE_233:Zone redundancy needs the Premium tier; a per-project choice.
  # checkov:skip=CKV_AZURE_237:Dedicated data endpoints need the Premium tier; pulls use Azure AD tokens over TLS.
  name                          = local.registry_name
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  sku                           = "Standard"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  tags                          = local.tags
}

resource "azurerm_role_assignment" "pull" {
  for_each = var.services

  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.service[each.key].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${local.prefix}-logs"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_container_app_environment" "this" {
  name                       = "${local.prefix}-services"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = azurerm_resource_group.this.location
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id
  tags                       = local.tags
}

resource "azurerm_container_app" "service" {
  for_each = local.apps

  name                         = local.names[each.key]
  resource_group_name          = azurerm_resource_group.this.name
  container_app_environment_id = azurerm_container_app_environment.this.id
  revision_mode                = "Single"
  tags                         = merge(local.tags, { service = each.key })

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.service[each.key].id]
  }

  registry {
    server   = azurerm_container_registry.this.login_server
    identity = azurerm_user_assigned_identity.service[each.key].id
  }

  dynamic "ingress" {
    for_each = each.value.kind == "http" ? [each.value] : []
    content {
      external_enabled           = ingress.value.public
      target_port                = ingress.value.port
      allow_insecure_connections = false
      traffic_weight {
        latest_revision = true
        percentage      = 100
      }
    }
  }

  template {
    min_replicas = each.value.kind == "worker" ? 1 : 0
    max_replicas = each.value.kind == "worker" ? 1 : var.max_replicas

    container {
      name   = each.key
      image  = each.value.image
      cpu    = var.cpu
      memory = var.memory

      dynamic "env" {
        for_each = merge(local.environment, { AZURE_CLIENT_ID = azurerm_user_assigned_identity.service[each.key].client_id })
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "liveness_probe" {
        for_each = each.value.kind == "http" ? [each.value] : []
        content {
          transport = "HTTP"
          port      = liveness_probe.value.port
          path      = liveness_probe.value.health
        }
      }
    }
  }

  depends_on = [azurerm_role_assignment.pull]
}

resource "azurerm_container_app_job" "job" {
  for_each = local.jobs

  name                         = local.names[each.key]
  resource_group_name          = azurerm_resource_group.this.name
  location                     = azurerm_resource_group.this.location
  container_app_environment_id = azurerm_container_app_environment.this.id
  replica_timeout_in_seconds   = 3600
  replica_retry_limit          = 0
  tags                         = merge(local.tags, { service = each.key })

  schedule_trigger_config {
    cron_expression          = each.value.schedule
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.service[each.key].id]
  }

  registry {
    server   = azurerm_container_registry.this.login_server
    identity = azurerm_user_assigned_identity.service[each.key].id
  }

  template {
    container {
      name   = each.key
      image  = each.value.image
      cpu    = var.cpu
      memory = var.memory

      dynamic "env" {
        for_each = merge(local.environment, { AZURE_CLIENT_ID = azurerm_user_assigned_identity.service[each.key].client_id })
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  depends_on = [azurerm_role_assignment.pull]
}

output "principal_ids" {
  description = "The managed identity (principal id) of each service."
  value       = { for name, identity in azurerm_user_assigned_identity.service : name => identity.principal_id }
}

output "client_ids" {
  description = "The client id of each service's managed identity (its AZURE_CLIENT_ID)."
  value       = { for name, identity in azurerm_user_assigned_identity.service : name => identity.client_id }
}

output "image_repositories" {
  description = "Where each service's image is pushed (append @sha256:<digest> for <service>_image)."
  value       = { for name, service in var.services : name => "${azurerm_container_registry.this.login_server}/${name}" }
}

output "urls" {
  description = "The HTTPS address of each deployed public http service."
  value       = { for name, app in azurerm_container_app.service : name => "https://${app.ingress[0].fqdn}" if local.apps[name].kind == "http" && local.apps[name].public }
}

output "private_urls" {
  description = "The address of each deployed private http service, inside the Container Apps environment."
  value       = { for name, app in azurerm_container_app.service : name => "https://${app.ingress[0].fqdn}" if local.apps[name].kind == "http" && !local.apps[name].public }
}
