# A Key Vault for the infrar secrets capability: one vault per environment holds the secrets
# the code names. Key Vault has no secret without a value, so Terraform makes the vault and
# never a secret: each appears when the program first calls set_secret, and no value is ever
# in a plan, a state file or a review. Access is Azure RBAC only (no access policies), over
# TLS; soft delete and purge protection keep a deleted secret recoverable. One custom role
# holds exactly the data actions the code needs, assigned on this vault alone.

variable "secrets" {
  description = "Logical name -> physical name and the Azure data actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "location" {
  description = "Azure region."
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

variable "app_principal_ids" {
  description = "Object IDs that receive the vault's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each secret."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "resource_group_name" {
  description = "Resource group to create; empty derives one."
  type        = string
  default     = ""
}

variable "vault_name" {
  description = "Key Vault name; empty derives one."
  type        = string
  default     = ""
}

variable "soft_delete_days" {
  description = "Days a deleted secret or vault can still be recovered."
  type        = number
  default     = 90
}

data "azurerm_client_config" "current" {}

locals {
  tags                = merge(var.tags, { project = var.project, environment = var.environment })
  resource_group_name = var.resource_group_name != "" ? var.resource_group_name : join("-", compact(["infrar", var.project, var.environment, "secrets"]))
  # Vault names are global: derived from the subscription, project and environment only, so
  # adding a secret never renames (and so never replaces) the vault.
  vault_name = var.vault_name != "" ? var.vault_name : "infrar${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}/secrets"), 0, 18)}"
  actions    = sort(distinct(flatten([for secret in var.secrets : secret.permissions])))
}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_key_vault" "this" {
  # checkov:skip=CKV_AZURE_109:The application may run outside Azure; every request still needs an Azure AD token and an RBAC role over TLS.
  # checkov:skip=CKV_AZURE_189:The application may run outside Azure; every request still needs an Azure AD token and an RBAC role over TLS.
  # checkov:skip=CKV2_AZURE_32:A private endpoint needs a virtual network, which the application may not run in.
  name                          = local.vault_name
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.soft_delete_days
  public_network_access_enabled = true
  tags                          = local.tags

  network_acls {
    default_action = "Allow"
    bypass         = "None"
  }
}

resource "azurerm_role_definition" "access" {
  count = length(local.actions) > 0 ? 1 : 0

  name        = "infrar ${local.vault_name} secrets"
  scope       = azurerm_resource_group.this.id
  description = "What the ${var.project} ${var.environment} code does with its secrets."

  permissions {
    actions      = []
    data_actions = local.actions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "access" {
  for_each = length(local.actions) > 0 ? toset(var.app_principal_ids) : toset([])

  scope              = azurerm_key_vault.this.id
  role_definition_id = azurerm_role_definition.access[0].role_definition_resource_id
  principal_id       = each.value
}

# Per service: a custom role with what its code does with the secrets, on the vault.
locals {
  service_actions = {
    for name, grant in var.service_grants : name => {
      principal = grant.principal
      actions   = sort(distinct(flatten(values(grant.resources))))
    } if length(flatten(values(grant.resources))) > 0
  }
}

resource "azurerm_role_definition" "service" {
  for_each = local.service_actions

  name        = "infrar ${local.vault_name} secrets ${each.key}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${each.key} service of ${var.project} ${var.environment} does with its secrets."

  permissions {
    actions      = []
    data_actions = each.value.actions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "service" {
  for_each = local.service_actions

  scope              = azurerm_key_vault.this.id
  role_definition_id = azurerm_role_definition.service[each.key].role_definition_resource_id
  principal_id       = each.value.principal
  principal_type     = "ServicePrincipal"
}

output "vault_url" {
  description = "The vault's URL; give it to the application as AZURE_KEYVAULT_URL."
  value       = azurerm_key_vault.this.vault_uri
}

output "vault_name" {
  description = "The vault's name."
  value       = azurerm_key_vault.this.name
}

output "secret_names" {
  description = "Physical secret names, by logical name."
  value       = { for key, secret in var.secrets : key => secret.name }
}

output "access_role" {
  description = "The custom role for what the code does with its secrets."
  value       = length(azurerm_role_definition.access) > 0 ? azurerm_role_definition.access[0].role_definition_resource_id : null
}
